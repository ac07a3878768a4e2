"""Issue 13, classes 2 and 3: the execution API as a domain task, the REST API as a domain user,
through Airflow 3.1.7's real FastAPI app (facts: tests_airflow/probe_api.py).

The routes are enumerated from the app itself, so a route Airflow adds is a test failure until it
is classified here.
"""

from __future__ import annotations

import re
from typing import Any

#: Parameters that name something owned by a domain: a route taking one must be scoped.
OWNED_PARAMS = {"dag_id", "connection_id", "variable_key", "task_instance_id"}
#: Execution API routes that take no owned parameter and are global in 3.1.7 (docs/threat-model.md).
GLOBAL_EXECUTION_ROUTES = {
    "/execution/health",
    "/execution/health/ping",
    "/execution/assets/by-name",
    "/execution/assets/by-uri",
    "/execution/asset-events/by-asset",
    "/execution/asset-events/by-asset-alias",
}
#: Routes that accept only the token's own task instance id: ``ti_id_router`` of
#: execution_api/routes/task_instances.py depends on ``JWTBearerTIPathDep`` (``sub`` must equal the path id).
SELF_ONLY = re.compile(r"^/execution/task-instances/\{task_instance_id\}/")
#: What a domain user does on its own DAGs (control: these must not be refused).
OWN_DAG_ACTIONS = {
    ("POST", "/api/v2/dags/{dag_id}/dagRuns"),
    ("POST", "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/clear"),
    ("POST", "/api/v2/dags/{dag_id}/clearTaskInstances"),
    ("PATCH", "/api/v2/dags/{dag_id}"),
    ("PATCH", "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}"),
    ("PATCH", "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"),
}


def _pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{[a-z_]+:path\\\}", ".+", re.escape(path))
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/?]+", regex) + r"(\?.*)?$")


def _route_of(call: dict[str, Any], routes: list[dict[str, Any]]) -> str | None:
    matches = [r["path"] for r in routes if call["method"] in r["methods"] and _pattern(r["path"]).match(call["path"])]
    return max(matches, key=len) if matches else None


def _domain(caller: str) -> str:
    return caller.split("_")[0]


def _owned(route: dict[str, Any]) -> bool:
    """Takes an owned parameter (FastAPI lists no path parameters of the HEAD XCom route, so the
    path itself is read too)."""
    return bool(set(route["params"]) & OWNED_PARAMS) or any("{" + p in route["path"] for p in OWNED_PARAMS)


def test_every_execution_api_route_naming_an_owned_object_is_attacked(api_probe):
    routes = api_probe["routes"]
    owned = {(m, r["path"]) for r in routes if _owned(r) for m in r["methods"]}
    unowned = {r["path"] for r in routes if not _owned(r)}
    assert unowned == GLOBAL_EXECUTION_ROUTES
    attacked = {(c["method"], _route_of(c, routes)) for c in api_probe["scoped"]}
    missing = {(m, p) for m, p in owned - attacked if not SELF_ONLY.match(p)}
    assert missing == set()


def test_a_task_reaches_no_other_domains_or_the_platforms_xcoms_runs_connections_variables(api_probe):
    """Every call from a task of one owner (marketing, the platform) at another owner's object is
    refused by the plugin (403, or 404 for connections and variables, as if missing)."""
    leaks = [
        (c["caller"], c["method"], c["path"], c["status"])
        for c in api_probe["scoped"]
        if _domain(c["caller"]) != c["target"] and c["status"] not in (403, 404)
    ]
    assert leaks == []


def test_without_the_plugin_airflow_hands_them_out(api_probe):
    """The same calls on the app without the plugin: what 3.1.7 alone does (issue 13, example 2)."""
    bare = {(c["caller"], c["method"], c["path"]): c["status"] for c in api_probe["bare"]}
    run = "manual__probe"
    for call in [
        ("marketing_etl", "GET", "/execution/connections/platform_db"),
        ("marketing_etl", "GET", "/execution/variables/platform_var"),
        ("marketing_etl", "PUT", "/execution/variables/platform_var"),
        ("marketing_etl", "GET", f"/execution/xcoms/finance_etl/{run}/t/secret"),
        ("marketing_etl", "POST", f"/execution/xcoms/finance_etl/{run}/t/secret"),
        ("marketing_etl", "POST", "/execution/dag-runs/platform_report/probe_new_run_marketing_etl"),
    ]:
        assert 200 <= bare[call] < 300, call


def test_a_task_emits_no_event_on_another_domains_asset(api_probe):
    """A marketing task reporting success with finance's asset as outlet would queue finance's
    asset-scheduled DAG (the same class as example 3, through the execution API): refused."""
    outlet = next(c for c in api_probe["scoped"] if c["param"] == "task_outlets")
    assert outlet["status"] == 403 and "finance_asset" in outlet["text"]
    assert api_probe["finance_asset_events_after_scoped"] == 0
    bare = next(c for c in api_probe["bare"] if c["param"] == "task_outlets")
    assert 200 <= bare["status"] < 300 and api_probe["finance_asset_events_after_bare"] >= 1


def test_own_domain_calls_are_not_refused_by_the_plugin(api_probe):
    refused = [
        (c["caller"], c["method"], c["path"])
        for c in api_probe["scoped"]
        if _domain(c["caller"]) == c["target"] and "of this task's domain" in c["text"]
    ]
    assert refused == []
    own = {(c["caller"], c["method"], c["path"]): c["status"] for c in api_probe["scoped"]}
    assert own[("marketing_etl", "GET", "/execution/variables/marketing/budget")] == 200
    assert own[("marketing_etl", "GET", "/execution/xcoms/marketing_etl/manual__probe/t/secret")] == 200
    assert own[("platform_report", "GET", "/execution/connections/platform_db")] == 200
    # A domain's connections live under its prefix in Secrets Manager, read by its own pods' backend;
    # the execution API never serves an id with '/' (routes/connections.py "/{connection_id}").
    assert own[("marketing_etl", "GET", "/execution/connections/marketing/db")] == 404


def test_a_domain_user_changes_no_other_domains_dag_runs_through_any_rest_route(api_probe):
    """Every non-GET /api/v2 route of the real app, as a marketing user, on finance's DAG, run, task,
    asset (materialize: issue 13, example 3), backfill, connection, variable and pool."""
    rest = api_probe["rest"]
    assert len(rest["routes"]) >= 40
    called = {(c["method"], c["path"]) for c in rest["calls"] if c["owner"] == "finance"}
    assert called == {tuple(r) for r in rest["routes"]}
    allowed = [
        (c["method"], c["path"], c["status"]) for c in rest["calls"] if c["owner"] == "finance" and c["status"] != 403
    ]
    assert allowed == []
    assert rest["finance_runs"] == 2 and rest["finance_paused"] is False


def test_the_same_user_acts_on_its_own_domains_dags(api_probe):
    """Control: the refusals above are about the target, not a user who can do nothing."""
    own = {(c["method"], c["path"]): c["status"] for c in api_probe["rest"]["calls"] if c["owner"] == "marketing"}
    assert {k: v for k, v in own.items() if k in OWN_DAG_ACTIONS and v in (401, 403)} == {}


def test_domain_roles_may_not_create_asset_events(api_probe):
    """FAB's User role has can_create on Assets, the only check of materialize and asset events."""
    permissions = {tuple(p) for p in api_probe["rest"]["permissions"]}
    assert not {p for p in permissions if p[1] == "Assets" and p[0] != "can_read" and p[0] != "menu_access"}
