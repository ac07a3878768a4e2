"""The execution API and the REST API of Airflow 3.1.7 attacked as a domain task and a domain user
(issue 13, classes 2 and 3), through the real FastAPI app (``airflow.api_fastapi.app.create_app``)
with the program's plugin, local settings and FAB config, on a migrated SQLite metadata database.

Run as ``python -m tests_airflow.probe_api VARIANT_DIR OUT_JSON`` in ``.venv-airflow``. Facts only;
``tests_airflow/test_api_isolation.py`` holds the expectations. World: DAGs ``marketing_etl``,
``finance_etl`` and ``platform_report`` parsed by a DagBag with the policies and written to the
database as the dag-processor writes them; one running DAG run each (its task instance is the
caller of the execution API); connections and variables of each owner in the metadata database;
an XCom in every run. The execution API is called with each task's own JWT, signed like the
scheduler signs it (``executors/base_executor.py`` ``jwt_generator``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tests_airflow import probe_io
from tests_airflow.probe_io import guarded

_DAG = """\
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset

with DAG(dag_id={dag_id!r}, schedule={schedule}):
    EmptyOperator(task_id="t", outlets=[Asset({asset!r})])
"""
#: dag_id -> (file, schedule, asset the task produces)
DAGS = {
    "marketing_etl": ("marketing/etl.py", "None", "marketing_asset"),
    "finance_etl": ("finance/etl.py", "None", "finance_asset"),
    "finance_on_asset": ("finance/on_asset.py", "[Asset('finance_asset')]", "finance_report"),
    "platform_report": ("platform_report.py", "None", "platform_asset"),
}
RUN_ID = "manual__probe"


def world(root: Path) -> dict[str, Any]:
    """DAGs, runs, task instances, connections, variables and XComs in the metadata database."""
    from airflow.models import Connection
    from airflow.models.dagbag import BundleDagBag, DBDagBag, sync_bag_to_db
    from airflow.utils import timezone
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    for dag_id, (rel, schedule, asset) in DAGS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_DAG.format(dag_id=dag_id, schedule=schedule, asset=asset))
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()
    bag = BundleDagBag(dag_folder=str(root), bundle_path=root, load_op_links=False)
    if bag.import_errors:
        raise RuntimeError(f"world DAGs rejected: {bag.import_errors}")
    sync_bag_to_db(bag, "dags-folder", None)
    from airflow.models.dag import DagModel
    from sqlalchemy import update

    with create_session() as session:  # one DagBag over the folder: mark what the processor would mark live
        session.execute(update(DagModel).values(is_stale=False, is_paused=False))
    tis: dict[str, str] = {}
    now = timezone.utcnow()
    with create_session() as session:
        for dag_id in DAGS:
            dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
            run = dag.create_dagrun(
                run_id=RUN_ID,
                logical_date=now,
                data_interval=(now, now),
                run_after=now,
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.TEST,
                state=DagRunState.RUNNING,
                session=session,
            )
            session.flush()
            ti = run.get_task_instance("t", session=session)
            ti.state = "running"  # a running task reports its outcome (and its asset events)
            tis[dag_id] = str(ti.id)
        # Connection ids of a domain are under its secrets prefix; the execution API route takes no
        # '/' in an id (routes/connections.py "/{connection_id}"), so they are never served from it.
        for conn_id in ("platform_db", "marketing/db", "finance/db"):
            session.add(Connection(conn_id=conn_id, conn_type="http", host=f"{conn_id}.example.com", password="s3cret"))
    restore()
    return {"tis": tis}


def restore() -> None:
    """Every run's XCom and every owner's variable as :func:`world` made them (calls may delete them)."""
    from airflow.models import Variable
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        for dag_id in DAGS:
            XComModel.set(
                key="secret", value=f"{dag_id}-xcom", dag_id=dag_id, task_id="t", run_id=RUN_ID, session=session
            )
    for key in ("platform_var", "marketing/budget", "finance/fx"):
        Variable.set(key, f"value-of-{key}")


def _token(ti_id: str) -> str:
    from airflow.api_fastapi.auth.tokens import JWTGenerator, get_signing_args
    from airflow.configuration import conf

    generator = JWTGenerator(
        valid_for=600,
        audience=conf.get_mandatory_list_value("execution_api", "jwt_audience")[0],
        issuer=conf.get("api_auth", "jwt_issuer", fallback=None),
        **get_signing_args(make_secret_key_if_needed=False),
    )
    return generator.generate({"sub": ti_id})


def execution_calls(tis: dict[str, str]) -> list[dict[str, Any]]:
    """(caller DAG, method, path, json body, target owner) of every call: each route of the execution
    API that takes a DAG, connection, variable or task instance, aimed at each owner."""
    calls = []
    success = {
        "state": "success",
        "end_date": "2026-01-01T00:00:00Z",
        "task_outlets": [{"name": "finance_asset", "uri": "finance_asset", "type": "Asset"}],
        "outlet_events": [],
    }
    calls.append(
        {
            "caller": "marketing_etl",
            "method": "PATCH",
            "path": f"/execution/task-instances/{tis['marketing_etl']}/state",
            "body": success,
            "param": "task_outlets",
            "target": "finance",
        }
    )
    for caller in ("marketing_etl", "platform_report"):
        for target in ("marketing_etl", "finance_etl", "platform_report"):
            ti = tis[target]
            xcom = f"/execution/xcoms/{target}/{RUN_ID}/t/secret"
            owner = target.split("_")[0]
            key = {"marketing": "marketing/budget", "finance": "finance/fx", "platform": "platform_var"}[owner]
            conn = "platform_db" if owner == "platform" else f"{owner}/db"
            run = {"logical_date": None, "conf": {}, "reset_dag_run": False}
            for method, path, body, param in [
                ("GET", xcom, None, "dag_id"),
                ("HEAD", xcom, None, "dag_id"),
                ("POST", xcom, "stolen", "dag_id"),
                ("DELETE", xcom, None, "dag_id"),
                ("GET", f"{xcom}/item/0", None, "dag_id"),
                ("GET", f"{xcom}/slice", None, "dag_id"),
                ("GET", f"/execution/variables/{key}", None, "variable_key"),
                ("PUT", f"/execution/variables/{key}", {"value": "overwritten"}, "variable_key"),
                ("DELETE", f"/execution/variables/{key}", None, "variable_key"),
                ("GET", f"/execution/connections/{conn}", None, "connection_id"),
                ("POST", f"/execution/dag-runs/{target}/probe_new_run_{caller}", run, "dag_id"),
                ("POST", f"/execution/dag-runs/{target}/{RUN_ID}/clear", None, "dag_id"),
                ("GET", f"/execution/dag-runs/{target}/{RUN_ID}/state", None, "dag_id"),
                ("GET", f"/execution/dag-runs/count?dag_id={target}", None, "dag_id"),
                ("GET", f"/execution/dag-runs/{target}/previous", None, "dag_id"),
                ("GET", f"/execution/task-instances/count?dag_id={target}", None, "dag_id"),
                ("GET", f"/execution/task-instances/states?dag_id={target}", None, "dag_id"),
                ("GET", f"/execution/task-reschedules/{ti}/start_date", None, "task_instance_id"),
                ("GET", f"/execution/hitlDetails/{ti}", None, "task_instance_id"),
                ("POST", f"/execution/hitlDetails/{ti}", {}, "task_instance_id"),
                ("PATCH", f"/execution/hitlDetails/{ti}", {}, "task_instance_id"),
                ("GET", f"/execution/task-instances/{ti}/previous-successful-dagrun", None, "task_instance_id"),
            ]:
                calls.append(
                    {"caller": caller, "method": method, "path": path, "body": body, "param": param, "target": owner}
                )
    return calls


def execution_api(app: Any, tis: dict[str, str]) -> list[dict[str, Any]]:
    """Every call of :func:`execution_calls` through the app, each on a fresh world state where it
    matters little: refusals change nothing, and allowed writes only touch their own target."""
    from fastapi.testclient import TestClient

    out = []
    restore()
    with TestClient(app) as client:
        for call in execution_calls(tis):
            headers = {"Authorization": f"Bearer {_token(tis[call['caller']])}"}
            response = client.request(call["method"], call["path"], json=call["body"], headers=headers)
            out.append({**call, "status": response.status_code, "text": response.text[:300]})
    return out


def finance_asset_events() -> int:
    """Events of finance's asset (each one queues a run of every DAG scheduled on it)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        query = (
            select(func.count())
            .select_from(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == "finance_asset")
        )
        return int(session.scalar(query) or 0)


def routes() -> list[dict[str, Any]]:
    """Every route of the execution API as the app defines it (``execution_api/routes/__init__.py``)."""
    from airflow.api_fastapi.execution_api.routes import execution_api_router
    from fastapi.routing import APIRoute

    return [
        {
            "methods": sorted(r.methods),
            "path": "/execution" + r.path,
            "params": sorted({p.name for p in r.dependant.path_params + r.dependant.query_params}),
        }
        for r in execution_api_router.routes
        if isinstance(r, APIRoute)
    ]


#: Values for path parameters of the REST API, aimed at finance's objects ({asset}/{backfill}: filled in).
_TARGET = {
    "dag_id": "finance_etl",
    "dag_run_id": RUN_ID,
    "run_id": RUN_ID,
    "task_id": "t",
    "map_index": "-1",
    "xcom_key": "secret",
    "connection_id": "finance_db",
    "variable_key": "finance/fx",
    "pool_name": "default_pool",
    "asset_id": "{asset}",
    "backfill_id": "{backfill}",
    "file_token": "{file_token}",
    "event_log_id": "1",
    "try_number": "1",
}


def _bodies(now: str) -> dict[tuple[str, str], Any]:
    """Valid bodies where authorization reads the body (a 422 there says nothing about authorization)."""
    return {
        ("POST", "/api/v2/backfills"): {"dag_id": "finance_etl", "from_date": now, "to_date": now},
        ("POST", "/api/v2/backfills/dry_run"): {"dag_id": "finance_etl", "from_date": now, "to_date": now},
        ("POST", "/api/v2/assets/events"): {"asset_id": "{asset}", "extra": {}},
        ("POST", "/api/v2/dags/{dag_id}/dagRuns"): {"logical_date": None},
        ("POST", "/api/v2/dags/{dag_id}/clearTaskInstances"): {"dry_run": False},
        ("POST", "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/clear"): {"dry_run": False},
        ("PATCH", "/api/v2/dags/{dag_id}"): {"is_paused": True},
        ("PATCH", "/api/v2/dags"): {"is_paused": True},
        ("PATCH", "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}"): {"state": "failed"},
        ("PATCH", "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"): {"new_state": "success"},
        ("PATCH", "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/dry_run"): {
            "new_state": "success"
        },
        ("POST", "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries"): {
            "key": "planted",
            "value": "x",
        },
        ("PATCH", "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key:path}"): {
            "value": "x"
        },
        ("PATCH", "/api/v2/connections"): {"actions": [{"action": "delete", "entities": ["finance_db"]}]},
        ("PATCH", "/api/v2/variables"): {"actions": [{"action": "delete", "entities": ["finance/fx"]}]},
        ("PATCH", "/api/v2/pools"): {"actions": [{"action": "delete", "entities": ["default_pool"]}]},
    }


def rest_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every /api/v2 route that is not a read, as the real app defines them."""
    from fastapi.routing import APIRoute

    return sorted(
        (m, r.path)
        for r in app.routes
        if isinstance(r, APIRoute) and r.path.startswith("/api/v2/")
        for m in r.methods
        if m not in ("GET", "HEAD", "OPTIONS")
    )


def rest(app: Any) -> dict[str, Any]:
    """Every state-changing /api/v2 route called by a user of the marketing role, on finance's
    objects and (control) on marketing's own; plus the side effects on finance's DAG."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.models.asset import AssetModel
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.providers.fab.www.app import create_app as create_fab_app
    from airflow.utils import timezone
    from airflow.utils.session import create_session
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    manager = get_auth_manager()
    flask_app = create_fab_app(enable_plugins=False)  # the FAB app the auth manager mounts, same database
    with flask_app.app_context():
        sm = flask_app.appbuilder.sm
        # The DAGs' access_control as the dag-processor syncs it (dag_processing/collection.py _sync_dag_perms).
        from airflow.models.dagbag import DBDagBag

        with create_session() as session:
            for dag_id in DAGS:
                dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
                sm.sync_perm_for_dag(dag_id, dag.access_control)
        role = sm.find_role("marketing")
        user = sm.find_user(username="probe-marketing") or sm.add_user("probe-marketing", "P", "M", "m@x.io", role)
        permissions = sorted({(p.action.name, p.resource.name) for p in role.permissions})
        token = manager.generate_jwt(user)
    with create_session() as session:
        assets = {a.name: a.id for a in session.scalars(select(AssetModel))}
    now = timezone.utcnow().isoformat()
    bodies = _bodies(now)
    out: dict[str, Any] = {"routes": rest_routes(app), "permissions": permissions, "calls": []}
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        for owner, dag_id, asset in (
            ("finance", "finance_etl", "finance_asset"),
            ("marketing", "marketing_etl", "marketing_asset"),
        ):
            fill = {**_TARGET, "dag_id": dag_id, "connection_id": f"{owner}_db", "variable_key": f"{owner}/x"}
            for method, path in out["routes"]:
                url = path
                for name, value in fill.items():
                    url = url.replace("{" + name + "}", value)
                url = url.replace("{asset}", str(assets.get(asset, 0))).replace("{backfill}", "1")
                url = url.replace("{file_token}", "x")
                body = bodies.get((method, path), {})
                body = json.loads(
                    json.dumps(body).replace('"{asset}"', str(assets.get(asset, 0))).replace("finance_etl", dag_id)
                )
                response = client.request(method, url, json=body, headers=headers)
                out["calls"].append(
                    {
                        "owner": owner,
                        "method": method,
                        "path": path,
                        "status": response.status_code,
                        "text": response.text[:200],
                    }
                )
    with create_session() as session:
        out["finance_runs"] = session.scalar(
            select(func.count()).select_from(DagRun).where(DagRun.dag_id.like("finance_%"))
        )
        out["finance_paused"] = session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == "finance_etl"))
    return out


def apps() -> tuple[Any, Any]:
    """The api-server app as deployed (plugins loaded from the plugins folder) and the same app
    without the plugin's middleware: what Airflow alone does."""
    from airflow.api_fastapi.app import create_app

    scoped = create_app()
    bare = create_app()
    bare.user_middleware = [m for m in bare.user_middleware if m.cls.__name__ != "ExecutionScope"]
    bare.middleware_stack = None
    return scoped, bare


def run(variant: Path, work: Path) -> dict[str, Any]:
    """Facts of the execution API and REST API attacks on ``variant`` (see the module docstring)."""
    from tests_airflow import probe

    probe.prepare(variant.parent, variant, work)
    if (variant / "plugins").is_dir():
        shutil.copytree(variant / "plugins", work / "home" / "plugins")
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(work / "home" / "plugins")
    os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "probe-jwt-secret-not-a-real-one"
    os.environ["AIRFLOW__CORE__AUTH_MANAGER"] = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    from airflow.utils.db import resetdb  # only now: Airflow reads its configuration on import

    resetdb()
    facts = world(work / "dags")
    scoped, bare = apps()
    # One fact per check (probe_io.guarded), in this order: each event count follows its app's calls.
    return {
        "tis": facts["tis"],
        "middlewares": [m.cls.__name__ for m in scoped.user_middleware],
        "routes": guarded(routes),
        "scoped": guarded(lambda: execution_api(scoped, facts["tis"])),
        "finance_asset_events_after_scoped": guarded(finance_asset_events),
        "bare": guarded(lambda: execution_api(bare, facts["tis"])),
        "finance_asset_events_after_bare": guarded(finance_asset_events),
        "rest": guarded(lambda: rest(scoped)),
    }


if __name__ == "__main__":
    probe_io.cli("probe_api", run)
