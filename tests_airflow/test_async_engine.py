"""Journey 7: Airflow 3.1.7 builds its async metadata engine from our URL, and asyncpg takes it.

Airflow reads ``[database] sql_alchemy_conn_async`` when it is set, else derives it from the sync URL by
swapping the scheme (``airflow/settings.py`` ``configure_vars`` / ``_get_async_conn_uri_from_sync``),
then calls ``create_async_engine(url, connect_args=...)`` (``_configure_async_session``). SQLAlchemy's
asyncpg dialect hands the URL's query to ``asyncpg.connect()`` as keywords, so the derived URL's
``sslmode`` fails before any network I/O (apache/airflow#67801). Each check runs in its own process
(Airflow configures itself on import) with ``AIRFLOW_HOME`` in a temporary folder; the engine then
connects to a closed local port: reaching the network (``OSError``) proves every keyword was accepted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from tests_airflow.support import ROOT, VARIANTS, meta

_SCRIPT = r"""
import asyncio, json
from airflow import settings
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

settings.configure_vars()
settings._configure_async_session()
ours = settings.async_engine.url
derived = make_url(settings._get_async_conn_uri_from_sync(sync_uri=settings.SQL_ALCHEMY_CONN))

async def attempt(url):
    # Airflow's engine arguments (_configure_async_session), pointed at a closed local port (9).
    engine = create_async_engine(url.set(host="127.0.0.1", port=9), connect_args=settings._get_connect_args("async"))
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    except Exception as err:  # what asyncpg raised first
        return type(err).__name__, str(err)[:300], isinstance(err, OSError)
    return "connected", "", False

print(json.dumps({
    "url": ours.render_as_string(hide_password=False),
    "ours": asyncio.run(attempt(ours)),
    "derived": asyncio.run(attempt(derived)),
}))
"""


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> dict:
    """One Airflow process: the engine it builds from our two URLs, and from the URL it would derive."""
    urls = meta(VARIANTS[0])["metadata_connections"]
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": urls["sync"]}
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = urls["async"]
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        env={"AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow-home")), "PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {"urls": urls, **json.loads(done.stdout.strip().splitlines()[-1])}


def test_every_variant_gets_the_same_metadata_urls():
    """The URLs depend on no stack setting (PgBouncer's in-cluster address), so one process checks all."""
    assert len({json.dumps(meta(v)["metadata_connections"]) for v in VARIANTS}) == 1


def test_airflow_reads_our_async_url(engines):
    assert make_url(engines["url"]) == make_url(engines["urls"]["async"])  # field by field


def test_asyncpg_accepts_every_argument_of_our_url(engines):
    name, message, network = engines["ours"]
    assert network, f"asyncpg refused the arguments before any I/O: {name}: {message}"


def test_the_url_airflow_would_derive_fails_on_sslmode(engines):
    """The failure the explicit URL fixes (apache/airflow#67801)."""
    name, message, _ = engines["derived"]
    assert name == "TypeError" and "sslmode" in message, engines["derived"]
