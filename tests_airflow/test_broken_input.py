"""Each Airflow-side check fails on a deliberately broken copy of a variant (tests_airflow/broken.py).

The checks are the same functions the real tests run; here they must raise on ``_broken``.
"""

from __future__ import annotations

import pytest

from tests_airflow import broken, test_config, test_fab, test_runtime


def test_unknown_and_badly_typed_options_are_found(probes):
    unknown = test_config.unknown_options(probes, broken.NAME)
    assert ("core", "probe_option_airflow_does_not_know", "values.config", "option unknown") in unknown
    assert ["logging", "delete_local_logs", "values.config", "boolean", "perhaps"] in (
        test_config.badly_typed_options(probes, broken.NAME)
    )


@pytest.mark.parametrize("case", ["admin_group", "domain_group"])
def test_login_check_fails_without_the_role_mapping(probes, case):
    with pytest.raises(AssertionError):
        test_fab.test_oidc_login_gets_exactly_the_mapped_roles(probes, broken.NAME, case)


def test_policy_check_fails_without_the_dag_policy(probes):
    with pytest.raises(AssertionError):
        test_runtime.test_dag_policy_accepts_dags_in_their_domain_folder_and_rejects_the_rest(probes, broken.NAME)


def test_pod_check_fails_without_the_mutation_hook(probes):
    with pytest.raises(AssertionError):
        test_runtime.test_executor_pods_land_where_the_domain_templates_say(probes, broken.NAME)


def test_logging_check_fails_with_remote_logging_off(probes):
    with pytest.raises(AssertionError):
        test_runtime.test_remote_task_logs_go_to_the_log_bucket(probes, broken.NAME)


def test_secrets_check_fails_without_the_backend(probes):
    with pytest.raises(AssertionError):
        test_runtime.test_secrets_manager_backend_reads_under_our_prefixes(probes, broken.NAME)
