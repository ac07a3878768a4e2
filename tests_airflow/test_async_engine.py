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
import asyncio, json, os, sys
from airflow import settings
from sqlalchemy import text

settings.configure_vars()
settings._configure_async_session()
url = settings.async_engine.url
out = {"url": url.render_as_string(hide_password=False), "driver": url.drivername}
# The engine Airflow built, its arguments unchanged, pointed at a closed local port (nothing listens on 9).
from sqlalchemy.ext.asyncio import create_async_engine
engine = create_async_engine(url.set(host="127.0.0.1", port=9), connect_args=settings._get_connect_args("async"))

async def attempt():
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    except Exception as err:  # what asyncpg raised first
        return type(err).__name__, str(err)[:300], isinstance(err, OSError)
    return "connected", "", False

out["error"] = asyncio.run(attempt())
print(json.dumps(out))
"""


def _engine(tmp_path, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        env={"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("variant", VARIANTS[:1])
def test_airflow_derived_async_url_fails_on_sslmode(tmp_path, variant):
    """The failure the explicit URL fixes: Airflow's own derivation from our sync URL."""
    urls = meta(variant)["metadata_connections"]
    out = _engine(tmp_path, {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": urls["sync"]})
    assert out["driver"] == "postgresql+asyncpg"
    assert out["error"][0] == "TypeError" and "sslmode" in out["error"][1], out


@pytest.mark.parametrize("variant", VARIANTS)
def test_our_async_url_builds_an_engine_asyncpg_accepts(tmp_path, variant):
    urls = meta(variant)["metadata_connections"]
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": urls["sync"]}
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = urls["async"]
    out = _engine(tmp_path, env)
    assert make_url(out["url"]) == make_url(urls["async"])  # what Airflow read is ours, field by field
    name, message, network = out["error"]
    assert network, f"asyncpg refused the arguments before any I/O: {name}: {message}"
