"""Airflow plugin of airflow-mesh (api-server only): a task gets from the execution API only what
belongs to its own data domain. The threat model it serves is ``docs/threat-model.md``.

Why: Airflow 3.1.7 authenticates every execution API call (a JWT whose ``sub`` is the task instance
id) but does not authorize what a task reads or writes: ``has_connection_access``,
``has_variable_access`` and ``has_xcom_access`` return True for any valid token
(``api_fastapi/execution_api/routes/connections.py``, ``variables.py``, ``xcoms.py``;
apache/airflow#60125), and ``dag_runs.py`` triggers or clears any DAG's runs. The api-server reads
connections and variables with its own role and the metadata database, so without this plugin a
domain task reaches every platform connection and variable and every DAG's XComs and runs.

How: a root ASGI middleware (``AirflowPlugin.fastapi_root_middlewares``: ``api_fastapi/app.py``
``init_plugins`` adds it to the root app, which wraps the mounted ``/execution`` app). For each
execution API request it reads the token's ``sub``, looks up that task instance's ``dag_id`` and
compares domains (``airflow_local_settings.domain_of_dag``, the same rule the policies enforce):

- a ``dag_id`` in the path or query (XComs, DAG runs, task-instance counts and states) must be of
  the caller's domain (the platform's tasks: a DAG of no domain);
- a connection id or variable key must be under the caller's domain's secrets prefix
  (``<prefix>/...``; the platform's tasks: under no domain's prefix). Refused reads answer 404 like
  a missing connection or variable, so a hook's "no connection: use the pod's own credentials"
  fallback still works (``AwsBaseHook``);
- a ``task_instance_id`` in the path must be the caller's own or of a DAG of its domain;
- asset events a task reports when it succeeds (``PATCH /task-instances/{id}/state``: ``task_outlets``
  and ``outlet_events``, ``execution_api/datamodels/taskinstance.py`` ``TISuccessStatePayload``) may
  only name assets of its domain (``<domain>_...``; the platform's: no domain's), because every DAG
  scheduled on an asset runs when it gets an event (``assets/manager.py`` ``register_asset_change``).

The middleware only ever refuses. It reads ``sub`` without verifying the signature because the
route verifies the same header next (``execution_api/deps.py`` ``JWTBearer``): a forged token is
refused there. It sits on the stable URL contract of the execution API, not on Airflow internals,
so it keeps working across upgrades and stays correct once Airflow's own checks are real.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, unquote

import airflow_local_settings as domains
from airflow.plugins_manager import AirflowPlugin
from airflow_mesh_auth_manager import EdgeSession

#: Path segment the execution API is mounted at (``api_fastapi/app.py``: ``app.mount("/execution", ...)``).
PREFIX = "/execution/"


def _sub(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The ``sub`` claim of the bearer token (unverified: the route verifies it)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or token.count(".") != 2:
                return None
            payload = token.split(".")[1]
            try:
                return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])
            except (ValueError, KeyError, TypeError):
                return None
    return None


def _dag_of_ti(ti_id: str) -> str | None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(select(TaskInstance.dag_id).where(TaskInstance.id == ti_id))


def asset_names(body: bytes) -> list[str]:
    """Names and URIs of the assets a success report emits events for (task_outlets, outlet_events)."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return []
    if not isinstance(payload, dict):
        return []
    out: list[str] = []
    for item in payload.get("task_outlets") or []:
        out += [str(item[k]) for k in ("name", "uri") if isinstance(item, dict) and item.get(k)]
    for event in payload.get("outlet_events") or []:
        for key in ("dest_asset_key", "asset_key", "key"):
            target = event.get(key) if isinstance(event, dict) else None
            if isinstance(target, dict):
                out += [str(target[k]) for k in ("name", "uri") if target.get(k)]
    return out


def decide(path: str, query: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> tuple[int, str] | None:
    """None to let the request through, else (status, reason). ``path`` is below the root path."""
    parts = [unquote(p) for p in path[len(PREFIX) :].split("/")]
    resource, rest = parts[0], parts[1:]
    dag_ids = list(parse_qs(query).get("dag_id", []))
    keys: list[str] = []
    tis: list[str] = []
    if resource in ("xcoms", "dag-runs") and rest and rest[0] not in ("count",):
        dag_ids.append(rest[0])
    elif resource in ("connections", "variables") and rest:
        keys.append("/".join(rest))
    elif (
        resource in ("task-instances", "task-reschedules", "hitlDetails")
        and rest
        and rest[0] not in ("count", "states")
    ):
        tis.append(rest[0])
    assets = asset_names(body) if resource == "task-instances" and rest[-1:] == ["state"] else []
    if not (dag_ids or keys or tis or assets):
        return None
    sub = _sub(headers)
    caller_dag = _dag_of_ti(sub) if sub else None
    if caller_dag is None:
        return 403, "the token names no known task instance"
    caller = domains.domain_of_dag(caller_dag)
    for dag_id in dag_ids:
        if domains.domain_of_dag(dag_id) != caller:
            return 403, f"DAG {dag_id!r} is not of this task's domain"
    for key in keys:
        if domains.domain_of_key(key) != caller:
            return 404, f"{resource[:-1]} {key!r} not found"
    for ti in tis:
        if ti != sub and domains.domain_of_dag(_dag_of_ti(ti) or "") != caller:
            return 403, "task instance is not of this task's domain"
    for name in assets:
        if domains.domain_of_dag(name) != caller:
            return 403, f"asset {name!r} is not of this task's domain"
    return None


class ExecutionScope:
    """Pure ASGI middleware (no response buffering): refuse, or pass the request on untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if scope["type"] != "http" or not path.startswith(PREFIX):
            return await self.app(scope, receive, send)
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        body = b""
        if scope.get("method") == "PATCH" and path.endswith("/state"):  # read it, then hand it on unchanged
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            sent = False

            async def replay() -> dict[str, Any]:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            receive = replay
        query = scope.get("query_string", b"").decode()
        refused = await run_in_threadpool(decide, path, query, scope["headers"], body)
        if refused is None:
            return await self.app(scope, receive, send)
        status, message = refused
        reason = "not_found" if status == 404 else "access_denied"
        await JSONResponse({"detail": {"reason": reason, "message": message}}, status_code=status)(scope, receive, send)


class ExecutionScopePlugin(AirflowPlugin):
    """Registers :class:`ExecutionScope` on the api-server's root app, and the auth manager's
    :class:`~airflow_mesh_auth_manager.EdgeSession` (a browser's Airflow session is the edge person's;
    every cookie Secure). This file is the api-server's only plugin; the auth manager module sits in
    ``$AIRFLOW_HOME/config`` beside ``airflow_local_settings``, on ``sys.path`` the same way."""

    name = "airflow_mesh_execution_scope"
    fastapi_root_middlewares = [
        {"middleware": ExecutionScope, "name": "airflow-mesh execution API domain scope"},
        {"middleware": EdgeSession, "name": "airflow-mesh edge session binding and Secure cookies"},
    ]
