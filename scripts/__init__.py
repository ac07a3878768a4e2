"""Maintenance scripts; fetch_upstream is also imported by tests/conftest.py (the lock format)."""
