"""Journey 7: scheduler/api-server -> PgBouncer -> RDS on Airflow's *async* engine.

Airflow 3.1.7 derives ``sql_alchemy_conn_async`` from the sync URL by swapping the scheme, so our
``?sslmode=disable`` would reach ``asyncpg.connect()`` as a keyword it does not have
(apache/airflow#67801). The program sets the async URL itself; Airflow's own engine is built from it
in tests_airflow/test_async_engine.py (asyncpg and SQLAlchemy live in .venv-airflow only).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from components.airflow import pgbouncer
from components.airflow.secrets import ASYNC_CONNECTION_KEY, METADATA, async_metadata_connection, metadata_connection

RELEASE = "kubernetes:helm.sh/v3:Release"


def _airflow_values(plan) -> dict:
    (release,) = [r for r in plan.of_type(RELEASE) if r["inputs"].get("chart") == "airflow"]
    values = release["inputs"]["values"]
    return json.loads(values) if isinstance(values, str) else values


def test_every_airflow_container_gets_the_async_url_from_the_metadata_secret(plan):
    env = {s["envName"]: s for s in _airflow_values(plan).get("secret", [])}
    entry = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]
    assert (entry["secretName"], entry["secretKey"]) == (METADATA, ASYNC_CONNECTION_KEY)
    # The Secret's data is recorded as one "[secret]" (its keys too); that it exists is what the plan shows.
    assert [r for r in plan.of_type("kubernetes:core/v1:Secret") if r["inputs"]["metadata"]["name"] == METADATA]


def test_async_url_has_only_keywords_asyncpg_and_sqlalchemy_take():
    url = urlsplit(async_metadata_connection("airflow", "p@ss/word"))
    assert url.scheme == "postgresql+asyncpg"
    query = parse_qs(url.query)
    # What Airflow would derive by itself carries sslmode, the keyword asyncpg.connect() lacks.
    assert "sslmode" in parse_qs(urlsplit(metadata_connection("airflow", "x")).query)
    assert query == {"ssl": ["disable"], "prepared_statement_cache_size": ["0"]}
    sync = urlsplit(metadata_connection("airflow", "p@ss/word"))
    assert (url.hostname, url.port, url.path, url.password) == (sync.hostname, sync.port, sync.path, sync.password)


def test_pgbouncer_tracks_prepared_statements_in_transaction_mode():
    ini = pgbouncer.pgbouncer_ini(
        "db", 5432, "airflow", "airflow", "/ca.pem", result_backend=False, query_wait_timeout=115
    )
    settings = dict(line.split(" = ", 1) for line in ini.splitlines() if " = " in line)
    assert settings["pool_mode"] == "transaction"
    assert int(settings["max_prepared_statements"]) > 0
