"""PgBouncer's ``pgbouncer.ini``: the pool between Airflow and RDS (the chart's own config is not used)."""

from __future__ import annotations

from components.airflow.inputs import PGBOUNCER_DB, PGBOUNCER_RESULT_BACKEND_DB
from components.platform import PGBOUNCER_PORT


def pgbouncer_ini(
    host: str, port: int, db_name: str, user: str, ca_file: str, result_backend: bool, query_wait_timeout: int
) -> str:
    """pgbouncer.ini: transaction pooling; TLS to RDS verified against the RDS trust bundle.

    ``query_wait_timeout`` (seconds): a query that waits longer for a server connection fails inside
    the API call's budget, so PgBouncer's error reaches the log, not NGINX's 504 (components/timeouts.py).
    ``query_timeout`` stays 0 on purpose: the migration Job's statements pass here too.
    """
    databases = [f"{PGBOUNCER_DB} = host={host} dbname={db_name} port={port} pool_size=10"]
    if result_backend:
        databases.append(f"{PGBOUNCER_RESULT_BACKEND_DB} = host={host} dbname={db_name} port={port} pool_size=5")
    settings = {
        "pool_mode": "transaction",
        "listen_port": PGBOUNCER_PORT,
        "listen_addr": "*",
        "auth_type": "scram-sha-256",
        "auth_file": "/etc/pgbouncer/users.txt",
        "stats_users": user,
        "ignore_startup_parameters": "extra_float_digits",
        "max_client_conn": 100,
        "query_wait_timeout": query_wait_timeout,
        "query_timeout": 0,
        # Named protocol-level prepared statements (asyncpg prepares every statement) survive transaction
        # pooling only when PgBouncer tracks them (1.21+; the chart's image is 1.23.1). Set, not defaulted.
        "max_prepared_statements": 200,
        "verbose": 0,
        "log_disconnections": 0,
        "log_connections": 0,
        "server_tls_sslmode": "verify-full",
        "server_tls_ca_file": ca_file,
        "server_tls_protocols": "tlsv1.2,tlsv1.3",
    }
    body = "\n".join(f"{k} = {v}" for k, v in settings.items())
    return "[databases]\n" + "\n".join(databases) + "\n\n[pgbouncer]\n" + body + "\n"
