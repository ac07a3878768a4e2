"""Issue 13, classes 1 and 5, attacked with Airflow 3.1.7's own code (facts: tests_airflow/probe_isolation.py).

A ``marketing`` DAG author tries to borrow another identity through every field of executor_config,
``pod_override``, ``__file__``, a symlink and ``access_control``; each must be an import error of the
file (the DagBag's ``AirflowClusterPolicyViolation``), never a DAG. Pods are built by the executor's
``construct_pod`` from the *serialized* executor_config (what the scheduler reads), and the hook must
refuse any identity in an override that did not come from the policy. The executor's live-log lookup
namespace must be where the pod runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests_airflow.support import ISOLATION_VARIANTS, Checks

#: The issue's own examples (1 and 5) among the cases; the rest are the same class found here.
ISSUE_EXAMPLES = ("annotation_dag_id", "label_kubernetes_executor_false")


def _facts(isolation: dict[str, Any], variant: str) -> Checks:
    """The variant's facts by check (a check that raised fails the test that reads it)."""
    found = isolation[variant]
    if set(found) == {"error"}:
        pytest.fail(f"isolation probe raised in Airflow for {variant}:\n{found['error']}")
    return Checks(found, variant)


@pytest.mark.parametrize("variant", ISOLATION_VARIANTS)
def test_every_identity_borrowing_dag_file_is_an_import_error(isolation, variant):
    parsed = _facts(isolation, variant)["parse"]
    attacks = {name: case for name, case in parsed.items() if case["intent"] == "reject"}
    assert set(ISSUE_EXAMPLES) <= set(attacks)
    accepted = {name: case["dag_ids"] for name, case in attacks.items() if case["dag_ids"]}
    assert accepted == {}
    assert {name for name, case in attacks.items() if not case["import_errors"]} == set()
    ours = {n for n, c in attacks.items() if not any("AirflowClusterPolicyViolation" in e for e in c["import_errors"])}
    # Airflow itself refuses an executor that is not configured, before any policy runs.
    assert ours <= {"other_executor"}


@pytest.mark.parametrize("variant", ISOLATION_VARIANTS)
def test_dags_in_their_folder_parse_and_grant_only_their_own_domain_role(isolation, variant):
    parsed = _facts(isolation, variant)["parse"]
    benign = {name: case for name, case in parsed.items() if case["intent"] == "accept"}
    assert benign and all(case["dag_ids"] and not case["import_errors"] for case in benign.values())
    assert parsed["benign_marketing_campaign"]["access_control"] == {"marketing": {"DAGs": ["can_edit", "can_read"]}}
    assert parsed["benign_finance_real"]["access_control"] == {"finance": {"DAGs": ["can_edit", "can_read"]}}
    assert parsed["benign_platform_report"]["access_control"] == {}


@pytest.mark.parametrize("variant", ISOLATION_VARIANTS)
def test_pods_of_parsed_dags_run_where_the_folder_says_and_live_logs_look_there(isolation, variant):
    """Placement is written at parse time, survives serialization, and the executor's own
    ``_get_pod_namespace`` (live logs) finds the pod where it runs (issue 13, example 5)."""
    pods = _facts(isolation, variant)["pods"]
    label = _facts(isolation, variant)["label"]
    expected = {
        "parsed_marketing_campaign": ("domain-marketing", "marketing-tasks", "marketing"),
        "parsed_marketing_plain": ("domain-marketing", "marketing-tasks", "marketing"),
        "parsed_finance_real": ("domain-finance", "finance-tasks", "finance"),
        "parsed_platform_report": ("airflow", "airflow-worker", None),
    }
    for case, (namespace, account, domain) in expected.items():
        pod = pods[case]
        assert "refused" not in pod, pod
        assert (pod["namespace"], pod["service_account"], pod["labels"].get(label)) == (namespace, account, domain)
        assert pod["log_lookup_namespace"] == pod["namespace"], case
    # The author's harmless label and resources survive; identity does not come from them.
    assert pods["parsed_marketing_campaign"]["labels"]["team"] == "growth"


@pytest.mark.parametrize("variant", ISOLATION_VARIANTS)
def test_hook_refuses_identity_in_an_override_the_policy_did_not_write(isolation, variant):
    """If an executor_config reached the scheduler without the policy (written into the metadata DB,
    a policy bypassed in the parsing process), the hook still refuses: it places by the dag_id the
    executor passes, and an override that names another namespace, ServiceAccount, executor label or
    domain label means no pod at all."""
    pods = _facts(isolation, variant)["pods"]
    unparsed = {name: pod for name, pod in pods.items() if name.startswith("unparsed_")}
    assert len(unparsed) >= 6
    assert {name for name, pod in unparsed.items() if "refused" not in pod} == set()
