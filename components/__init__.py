"""airflow-mesh components: one Pulumi component (or pure helper) per file, wired in __main__.py."""
