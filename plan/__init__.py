"""Offline plan of the airflow-mesh program under Pulumi's mock engine (``python -m plan STACK``)."""
