"""`python -m plan.ci destroy-guard`: prod is refused by name, by environment and by protection flag."""

from __future__ import annotations

import json
import subprocess
import sys

from plan import ci, harness
from tests import stacks


def test_prod_is_refused_for_every_reason():
    reasons = " | ".join(ci.destroy_refusals("prod", stacks_dir=stacks.DIR))
    assert "by name" in reasons
    assert "environment=prod" in reasons
    assert "protects" in reasons


def test_non_prod_stacks_may_be_destroyed():
    for stack in stacks.NAMES:
        if stack != "prod":
            assert ci.destroy_refusals(stack, stacks_dir=stacks.DIR) == [], stack


def test_a_deployed_state_with_protected_resources_is_refused():
    state = {
        "deployment": {
            "resources": [{"urn": "urn:pulumi:dev::airflow-mesh::aws:rds/instance:Instance::db", "protect": True}]
        }
    }
    reasons = ci.destroy_refusals("dev", state, stacks_dir=stacks.DIR)
    assert len(reasons) == 1 and "deployed state" in reasons[0]
    unprotected = {"deployment": {"resources": [{"urn": "u", "protect": False}]}}
    assert ci.destroy_refusals("dev", unprotected, stacks_dir=stacks.DIR) == []


def test_an_unknown_prod_looking_stack_is_refused_by_name():
    reasons = ci.destroy_refusals("prod-eu")
    assert any("by name" in r for r in reasons)


def test_cli_exit_status_and_outputs(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "plan.ci", "--stacks-dir", str(stacks.DIR), *args],
            cwd=harness.ROOT,
            capture_output=True,
            text=True,
        )

    refused = run("destroy-guard", "prod")
    assert refused.returncode == 1 and "refusing to destroy: prod" in refused.stderr
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"deployment": {"resources": [{"urn": "u", "protect": True}]}}))
    assert run("destroy-guard", "dev", "--state", str(state)).returncode == 1
    assert run("destroy-guard", "dev").returncode == 0
    outputs = dict(line.split("=", 1) for line in run("outputs", "dev").stdout.splitlines())
    assert json.loads(outputs["runs_on"]) == ci.HOSTED_RUNNER
    assert outputs["deploy_role"].endswith(":role/github-actions-deployer")
