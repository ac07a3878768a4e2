"""A check that raises inside a probe is that check's fact, and fails only the tests that read it
(tests_airflow/probe_io.py ``guarded``, tests_airflow/support.py ``Checks``)."""

from __future__ import annotations

import pytest

from tests_airflow.probe_io import guarded
from tests_airflow.support import Checks


def _no_user() -> dict[str, int]:
    raise LookupError("no user 0oa-ci-deployer@machine.invalid to deactivate")


def test_a_raising_check_records_its_traceback_and_the_next_check_still_runs():
    facts = {"deactivated": guarded(_no_user), "calls": guarded(lambda: {"read": 200})}
    assert "LookupError: no user 0oa-ci-deployer@machine.invalid" in facts["deactivated"]["error"]
    assert facts["calls"] == {"read": 200}


def test_reading_the_raised_check_fails_with_its_traceback_and_other_checks_read_normally():
    checks = Checks({"deactivated": guarded(_no_user), "calls": {"read": 200}, "set_cookie": []}, "dev")
    assert checks["calls"] == {"read": 200} and checks["set_cookie"] == []
    assert sorted(checks) == ["calls", "deactivated", "set_cookie"]
    with pytest.raises(pytest.fail.Exception, match=r"(?s)deactivated raised in Airflow for dev:.*LookupError"):
        checks["deactivated"]
