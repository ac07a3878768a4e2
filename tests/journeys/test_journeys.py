"""Request journeys walked hop by hop from the recorded objects of every layer, for every mesh provider.

Each journey is asked of :mod:`plan.explain` (what an operator runs on an unexpected 403) on the
recorded plan of the ``dev`` fixture stack under each provider of ``components.mesh.component.PROVIDERS``
and compared with the expected outcome. A journey of issue 14 that is not fixed yet is marked
``xfail(strict=True)`` naming it: the day it passes, strict xfail fails the suite until the marker goes.
"""

from __future__ import annotations

import pytest

from components.mesh.component import PROVIDERS
from components.platform import API_SERVER_PORT, PGBOUNCER_PORT, TRIGGERER_LOG_PORT
from plan.explain import Explainer, render
from tests import stacks
from tests.components.mesh.mesh_plans import PROVIDER_CONFIG, plan_for

STACK = "dev"
ADMINS, FINANCE, MARKETING = "data-platform-admins", "data-finance", "data-marketing"


@pytest.fixture(scope="module", params=sorted(PROVIDERS))
def explainer(request) -> Explainer:
    provider = request.param
    settings = stacks.settings_for(STACK, {"meshProvider": provider, **PROVIDER_CONFIG.get(provider, {})})
    return Explainer(plan_for(STACK, provider), settings)


def _verdict(hops) -> bool:
    return all(h.allowed for h in hops)


def test_every_provider_has_a_mesh_reader(explainer):
    hop = explainer.mesh("airflow-scheduler", "airflow-api-server", API_SERVER_PORT)
    assert "no reader" not in hop.decided_by, hop


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        # tasks -> execution API; scheduler -> PgBouncer (-> RDS through the model's exit)
        ("task:finance", f"airflow-api-server:{API_SERVER_PORT}", True),
        ("airflow-worker", f"airflow-api-server:{API_SERVER_PORT}", True),
        ("airflow-scheduler", f"airflow-pgbouncer:{PGBOUNCER_PORT}", True),
        # journey 6: the api-server reads deferred tasks' logs from the triggerer
        ("airflow-api-server", f"airflow-triggerer:{TRIGGERER_LOG_PORT}", True),
        # what must stay closed
        ("task:finance", f"airflow-pgbouncer:{PGBOUNCER_PORT}", False),
        ("task:finance", f"airflow-triggerer:{TRIGGERER_LOG_PORT}", False),
        ("edge-gateway", f"airflow-api-server:{API_SERVER_PORT}", False),
        ("oauth2-proxy", f"airflow-pgbouncer:{PGBOUNCER_PORT}", False),
    ],
)
def test_workload_to_service(explainer, source, target, allowed):
    (hop,) = explainer.explain(source, target)
    assert hop.allowed is allowed, hop.line()
    if allowed:
        kinds = {"MeshTrafficPermission", "AuthorizationPolicy", "ServiceIntentions"}
        assert hop.decided_by.split()[0] in kinds, hop.line()


@pytest.mark.parametrize(
    ("source", "action", "resource", "allowed", "sid"),
    [
        ("task:finance", "s3:GetObject", "arn:aws:s3:::example-finance-dev/ledger/2026.csv", True, "Objects0"),
        ("task:finance", "s3:GetObject", "arn:aws:s3:::example-mkt-raw-dev/events/x.json", False, ""),
        (
            "task:finance",
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:airflow/dev/connections/finance/db-AbCdEf",
            True,
            "ReadAirflowSecrets",
        ),
        (
            "task:finance",
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:airflow/dev/connections/marketing/db-AbCdEf",
            False,
            "",
        ),
        ("cert-manager", "route53:GetChange", "arn:aws:route53:::change/C123", True, "ReadChanges"),
    ],
)
def test_workload_to_aws(explainer, source, action, resource, allowed, sid):
    (hop,) = explainer.explain(source, f"{action} {resource}")
    assert hop.allowed is allowed, hop.line()
    if sid:
        assert hop.decided_by == f"IAM statement {sid}"


@pytest.mark.parametrize(
    ("group", "dag", "allowed"),
    [(FINANCE, "finance_ledger", True), (FINANCE, "marketing_events", False), (ADMINS, "marketing_events", True)],
)
def test_domain_user_opens_a_dag(explainer, group, dag, allowed):
    hop = explainer.dag(group, dag)
    assert hop.allowed is allowed, hop.line()


def test_unmapped_person_gets_no_role(explainer):
    hops = explainer.explain("group:nobody", "/home")
    assert [h.allowed for h in hops if h.layer == "airflow"] == [False]


def test_api_call_timeouts_outer_at_least_inner(explainer):
    """Journey 2: every layer of a person's API call waits at least as long as the one inside it."""
    hops = [h for h in explainer.explain(f"group:{ADMINS}", "/api/v2/dags") if h.layer == "timeout"]
    assert len(hops) == 5 and _verdict(hops), render(hops)  # 4 layers nested + the mesh adds none


def test_front_door_goes_to_the_oauth2_proxy_service_address(explainer):
    """Journey 1: NGINX reaches oauth2-proxy through its Service, on every provider."""
    hops = explainer.explain(f"group:{ADMINS}", "/api/v2/dags")
    (addressing,) = [h for h in hops if h.step == "edge-gateway -> oauth2-proxy address"]
    assert "useClusterIP" in addressing.decided_by, addressing.line()
    assert _verdict(hops), render(hops)
