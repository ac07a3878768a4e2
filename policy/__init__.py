"""The airflow-mesh CrossGuard policy pack (see __main__.py) and its rules."""
