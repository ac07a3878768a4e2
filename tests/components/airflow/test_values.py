"""Airflow's values as pure functions: PgBouncer's config, the Fernet key pair, the task pod templates
and the executor's namespaces. The runtime modules are tested in test_runtime.py."""

from __future__ import annotations

import base64
import json

import pytest

from components.airflow import config as airflow_config
from components.airflow import inputs as airflow_inputs
from components.airflow import pgbouncer as airflow_pgbouncer
from components.airflow import pods as airflow_pods
from components.airflow import secrets as airflow_secrets
from components.airflow.component import chart_inputs
from components.platform import DOMAIN_LABEL
from tests import schemas, stacks

DOMAINS = (
    airflow_inputs.DomainSpec("marketing", "domain-marketing", "marketing-tasks", "marketing", "marketing"),
    airflow_inputs.DomainSpec("finance", "domain-finance", "finance-tasks", "finance", "finance"),
)


@pytest.fixture(scope="module")
def inputs() -> airflow_inputs.ChartInputs:
    """The dev stack's chart inputs, from its real settings and access model."""
    from components import access_model

    s = stacks.settings_for("dev")
    return chart_inputs(s, access_model.build(s))


# --------------------------------------------------------------------------------------------------
# Keys, PgBouncer, pod templates
# --------------------------------------------------------------------------------------------------


def test_fernet_keys_put_the_newest_first_and_keep_the_previous():
    old, new = base64.b64encode(b"o" * 32).decode(), base64.b64encode(b"n" * 32).decode()
    keys = airflow_secrets.fernet_keys(("2026-01-01T00:00:00Z", old), ("2026-03-02T00:00:00Z", new))
    first, second = keys.split(",")
    assert base64.urlsafe_b64decode(first) == b"n" * 32 and base64.urlsafe_b64decode(second) == b"o" * 32
    fernet = pytest.importorskip("cryptography.fernet")
    token = fernet.Fernet(second).encrypt(b"conn")
    assert fernet.MultiFernet([fernet.Fernet(k) for k in keys.split(",")]).decrypt(token) == b"conn"


def test_pgbouncer_verifies_rds_and_airflow_connects_through_it():
    ini = airflow_pgbouncer.pgbouncer_ini(
        "db.example.rds.amazonaws.com", 5432, "airflow", "airflow", "/ca.pem", False, 115
    )
    assert "server_tls_sslmode = verify-full" in ini and "server_tls_ca_file = /ca.pem" in ini
    assert "airflow-metadata = host=db.example.rds.amazonaws.com dbname=airflow port=5432" in ini
    assert "password" not in ini
    url = airflow_secrets.metadata_connection("airflow", "p@ss/word")
    assert url.startswith("postgresql://airflow:p%40ss%2Fword@airflow-pgbouncer.airflow.svc.cluster.local:6543/")


def test_task_pod_templates_are_valid_pods_that_reference_nothing_of_the_airflow_namespace(inputs):
    for domain in (None, *inputs.domains):
        pod = airflow_pods.pod_template(inputs, domain)
        assert schemas.kubernetes_errors(pod) == []
        text = json.dumps(pod)
        assert "configMap" not in text and "secretKeyRef" not in text
        if domain:
            assert pod["metadata"]["namespace"] == domain.namespace
            assert pod["spec"]["serviceAccountName"] == domain.service_account
            assert pod["metadata"]["labels"][DOMAIN_LABEL] == domain.name
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"].startswith("s3://")
    assert env["AIRFLOW__METRICS__STATSD_ON"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags/repo"


def test_executor_watches_exactly_airflow_and_the_domain_namespaces(inputs):
    config = airflow_config.airflow_config(inputs)["kubernetes_executor"]
    assert config["multi_namespace_mode"] == "True"
    assert config["multi_namespace_mode_namespace_list"] == "airflow,domain-marketing,domain-finance"
