"""The GitHub workflows as GitHub would read them: the required steps, least permissions, OIDC
credentials only, the prod guard of destroy, and zizmor's audits all clean."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from plan import ci, harness
from tests import stacks

WORKFLOWS = harness.ROOT / ".github" / "workflows"
NAMES = ("preview", "deploy", "destroy", "drift")
STACKS = harness.stack_names()


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads a bare `on` key as true
    return doc


@pytest.fixture(params=NAMES)
def workflow(request) -> tuple[str, dict[str, Any]]:
    return request.param, load(request.param)


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).split("@")[0] == action]


def pulumi(job: dict[str, Any], command: str) -> list[dict[str, Any]]:
    return [s["with"] for s in uses(job, "pulumi/actions") if s.get("with", {}).get("command") == command]


def index(job: dict[str, Any], predicate) -> int:
    return next(i for i, s in enumerate(steps(job)) if predicate(s))


# --- every workflow ------------------------------------------------------------------------------


def test_the_four_workflows_exist():
    assert {p.stem for p in WORKFLOWS.glob("*.yml")} >= set(NAMES)


def test_top_level_permissions_are_read_only_and_jobs_add_only_what_they_use(workflow):
    name, doc = workflow
    assert doc["permissions"] == {"contents": "read"}, name
    for job_name, job in doc["jobs"].items():
        perms = job.get("permissions", {})
        assert set(perms.values()) <= {"read", "write"}
        writes = {k for k, v in perms.items() if v == "write"}
        assert writes <= {"id-token", "pull-requests"}, (name, job_name, writes)
        if "id-token" in writes:
            assert uses(job, "aws-actions/configure-aws-credentials"), (
                f"{name}.{job_name} asks for OIDC but never uses it"
            )
        if "pull-requests" in writes:
            assert any(w.get("comment-on-pr") for w in (s.get("with", {}) for s in uses(job, "pulumi/actions")))


def test_aws_credentials_come_from_oidc_roles_only(workflow):
    name, doc = workflow
    text = (WORKFLOWS / f"{name}.yml").read_text()
    assert not re.search(r"aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|PULUMI_ACCESS_TOKEN", text)
    assert "secrets." not in text, "no stored secret is needed: AWS and Pulumi Cloud both take the OIDC token"
    for job in doc["jobs"].values():
        for step in uses(job, "aws-actions/configure-aws-credentials"):
            assert re.search(r"(preview|deploy)_role", step["with"]["role-to-assume"])
            assert job["permissions"]["id-token"] == "write"
        for step in uses(job, "pulumi/actions"):
            if step.get("with", {}).get("command"):
                assert uses(job, "pulumi/auth-actions"), "Pulumi Cloud token through OIDC"


def test_actions_are_official_and_version_pinned(workflow):
    _, doc = workflow
    allowed = {
        "actions/checkout",
        "actions/setup-python",
        "actions/upload-artifact",
        "aws-actions/configure-aws-credentials",
        "pulumi/actions",
        "pulumi/auth-actions",
    }
    for job in doc["jobs"].values():
        for step in steps(job):
            if "uses" in step:
                action, _, ref = step["uses"].partition("@")
                assert action in allowed and re.fullmatch(r"v\d+", ref), step["uses"]
        for step in uses(job, "actions/checkout"):
            assert step["with"]["persist-credentials"] is False


def test_every_job_has_a_timeout_and_no_pull_request_target(workflow):
    name, doc = workflow
    assert "pull_request_target" not in doc["on"]
    for job_name, job in doc["jobs"].items():
        assert job.get("timeout-minutes"), f"{name}.{job_name}"


def test_cli_version_matches_the_sdk_pin(workflow):
    _, doc = workflow
    pin = re.search(r"^pulumi==(\S+)$", (harness.ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert doc["env"]["PULUMI_VERSION"] == pin


def test_jobs_that_touch_a_stack_hold_its_lock(workflow):
    """deploy, destroy, rotate and drift of one stack never overlap: one concurrency group per stack."""
    name, doc = workflow
    for job_name, job in doc["jobs"].items():
        changes = [s for s in uses(job, "pulumi/actions") if s.get("with", {}).get("command") in ("up", "destroy")]
        if changes or (name == "drift" and job_name == "drift"):
            group = job["concurrency"]["group"]
            assert group.startswith("pulumi-") and job["concurrency"]["cancel-in-progress"] is False


# --- preview -------------------------------------------------------------------------------------


def test_preview_runs_tests_plan_and_a_policy_enforced_preview_per_stack():
    doc = load("preview")
    assert "pull_request" in doc["on"]
    test = doc["jobs"]["test"]
    assert any(s.get("run") == "make test" for s in steps(test))
    preview = doc["jobs"]["preview"]
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.test.outputs.stacks) }}"
    assert any("make plan" in s.get("run", "") and "GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps(preview))
    assert uses(preview, "actions/upload-artifact")
    (with_,) = pulumi(preview, "preview")
    assert with_["comment-on-pr"] is True and with_["diff"] is True and with_["policyPacks"] == "policy"
    assert preview["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert "pull-requests" not in test.get("permissions", {})


def test_preview_matrix_is_every_stack_in_stacks():
    infos = ci.all_stacks()
    assert sorted(i["stack"] for i in infos) == STACKS
    for info in infos:
        assert info["preview_role"] == f"arn:aws:iam::{info['account']}:role/github-actions-preview"


def test_private_endpoints_get_a_runner_inside_the_vpc():
    for stack in stacks.NAMES:
        info = ci.stack_info(stack, stacks_dir=stacks.DIR)
        private = stacks.settings_for(stack).endpoint_access == "private"
        assert (info["runs_on"] != ci.HOSTED_RUNNER) == private, stack
        if private:
            assert info["runs_on"] == ["self-hosted", "linux", f"airflow-mesh-{stack}"]


# --- deploy --------------------------------------------------------------------------------------


def test_deploy_waves_cover_every_stack_once_in_promotion_order():
    waves = ci.waves(stacks_dir=stacks.DIR)
    assert list(waves) == ["dev", "staging", "prod"]
    assert sorted(i["stack"] for wave in waves.values() for i in wave) == stacks.NAMES
    assert all(i["environment"] == env for env, wave in waves.items() for i in wave)
    examples = ci.waves()
    assert sorted(i["stack"] for wave in examples.values() for i in wave) == STACKS, "every stack has a deploy job"


def test_deploy_goes_dev_then_staging_then_prod_behind_environments():
    doc = load("deploy")
    assert doc["on"]["push"]["branches"] == ["main"]
    jobs = doc["jobs"]
    assert jobs["test"]["outputs"] == {"waves": "${{ steps.stacks.outputs.waves }}"}
    assert any("plan.ci waves" in s.get("run", "") for s in steps(jobs["test"]))
    assert [jobs[w]["needs"] for w in ("dev", "staging", "prod")] == [
        "test",
        ["test", "dev"],
        ["test", "dev", "staging"],
    ]
    for wave in ("dev", "staging", "prod"):
        job = jobs[wave]
        assert job["strategy"]["matrix"]["include"] == f"${{{{ fromJSON(needs.test.outputs.waves).{wave} }}}}"
        assert f"fromJSON(needs.test.outputs.waves).{wave}[0] != null" in job["if"], "an empty wave is skipped"
        if wave != "dev":
            assert "!cancelled()" in job["if"] and "'skipped'" in job["if"], "an empty wave does not stop the next"
            assert "needs.test.result == 'success'" in job["if"]
        assert job["environment"] == "${{ matrix.stack }}"
        assert job["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        preview_at = index(job, lambda s: s.get("with", {}).get("command") == "preview")
        up_at = index(job, lambda s: s.get("with", {}).get("command") == "up")
        assert preview_at < up_at, "preview with the pack gates the up"
        for with_ in pulumi(job, "preview") + pulumi(job, "up"):
            assert with_["policyPacks"] == "policy"
            assert with_["stack-name"].endswith("/airflow-mesh/${{ matrix.stack }}")
    assert doc["concurrency"] == {"group": "deploy", "cancel-in-progress": False}


# --- destroy -------------------------------------------------------------------------------------


def test_destroy_is_manual_and_never_offers_prod():
    doc = load("destroy")
    assert set(doc["on"]) == {"workflow_dispatch"}
    stack_input = doc["on"]["workflow_dispatch"]["inputs"]["stack"]
    # free text (a team's own stacks need no workflow edit); the guard refuses prod by name first
    assert stack_input["type"] == "string" and "options" not in stack_input


def test_destroy_guards_run_before_any_credential():
    doc = load("destroy")
    guard, destroy = doc["jobs"]["guard"], doc["jobs"]["destroy"]
    assert destroy["needs"] == "guard"
    assert "id-token" not in guard.get("permissions", {}), "the guard gets no cloud credentials"
    assert "prod" in steps(guard)[0]["run"], "refusing prod by name is the very first step"
    assert any("plan.ci destroy-guard" in s.get("run", "") for s in steps(guard))
    state_guard = index(destroy, lambda s: "destroy-guard" in s.get("run", "") and "--state" in s.get("run", ""))
    destroy_at = index(destroy, lambda s: s.get("with", {}).get("command") == "destroy")
    assert state_guard < destroy_at


@pytest.mark.parametrize(
    "stack, confirm, refused",
    [("prod", "prod", True), ("prod-eu", "prod-eu", True), ("dev", "dev", False), ("dev", "staging", True)],
)
def test_destroy_name_guard_script(stack, confirm, refused):
    script = steps(load("destroy")["jobs"]["guard"])[0]["run"]
    result = subprocess.run(["bash", "-c", script], env={"STACK": stack, "CONFIRM": confirm}, capture_output=True)
    assert (result.returncode != 0) == refused, result.stdout


# --- drift ---------------------------------------------------------------------------------------


def test_drift_previews_expecting_no_changes_and_rotates_on_a_schedule():
    doc = load("drift")
    crons = {c["cron"] for c in doc["on"]["schedule"]}
    assert len(crons) == 2
    drift, rotate = doc["jobs"]["drift"], doc["jobs"]["rotate"]
    (check,) = pulumi(drift, "preview")
    assert check["expect-no-changes"] is True and check["refresh"] is True and check["policyPacks"] == "policy"
    (up,) = pulumi(rotate, "up")
    assert up["refresh"] is True, "a time-based keeper only notices the time on refresh"
    assert any(cron in rotate["if"] for cron in crons)
    assert rotate["environment"] == "${{ matrix.stack }}", "rotation in staging and prod waits for approval"
    assert "rotate" in drift["needs"], "on rotation day the drift check runs after the rotation"


# --- static analysis -----------------------------------------------------------------------------


def test_zizmor_finds_nothing_even_pedantic():
    zizmor = shutil.which("zizmor") or str(Path(harness.ROOT / ".venv" / "bin" / "zizmor"))
    if not Path(zizmor).exists():
        pytest.skip("zizmor is not installed (requirements-dev.txt)")
    result = subprocess.run(
        [zizmor, "--offline", "--strict-collection", "--pedantic", "--format", "plain", ".github"],
        cwd=harness.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr
