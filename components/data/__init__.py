"""Data layer: where Airflow keeps its state, outside the cluster.

Owns the RDS PostgreSQL metadata database (:mod:`.database`), the S3 task-log bucket
(:mod:`.log_bucket`) and the KMS key of the Secrets Manager backend (:mod:`.secrets_store`). These
sit in their own layer, not in ``airflow/``, because they need only the network (and the cluster's
node security group as the database's client) and are created while the cluster comes up; the
identity layer grants access to them and the airflow layer connects to them.
"""
