"""Airflow layer: the official chart (1.19.0, Airflow 3.1.7) as a Helm release, configured for the platform.

Owns the release (:mod:`.component`), its values built from typed inputs (:mod:`.inputs`,
:mod:`.values`, :mod:`.pods`, :mod:`.pgbouncer`), the Kubernetes Secrets and their rotation
(:mod:`.secrets`), what runs a data domain's tasks in its own namespace (:mod:`.domains`) and the
Python that Airflow itself executes (:mod:`.runtime`). Takes the data layer's database, the identity
layer's namespaces and ServiceAccounts, the mesh's ``ready``, the access model and settings.
"""
