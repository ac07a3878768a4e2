"""The preview workflow's plan-diff job: `python -m plan --diff <base> <stack>` for every stack, in
one pull-request comment that each push updates, with no cloud credentials."""

from __future__ import annotations

import os
import subprocess

from tests.workflows.test_workflows import load, steps


def job() -> dict:
    return load("preview")["jobs"]["plan-diff"]


def test_the_diff_job_plans_every_stack_against_the_base_commit_offline():
    j = job()
    assert j["needs"] == "test" and j["permissions"] == {"contents": "read", "pull-requests": "write"}
    checkout = steps(j)[0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert j["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert j["env"]["STACKS"] == "${{ needs.test.outputs.stacks }}"
    script = next(s["run"] for s in steps(j) if "plan --diff" in s.get("run", ""))
    assert '.venv/bin/python -m plan --diff "$BASE_SHA" "$stack"' in script
    assert "jq -r '.[].stack'" in script and "GITHUB_STEP_SUMMARY" in script
    assert not any("configure-aws-credentials" in s.get("uses", "") for s in steps(j))


def run_post(tmp_path, existing: str) -> list[str]:
    """The posting step with a stub `gh` that answers the comment listing with ``existing``."""
    calls = tmp_path / "calls"
    stub = tmp_path / "bin" / "gh"
    stub.parent.mkdir(parents=True)
    stub.write_text(
        f'#!/usr/bin/env bash\necho "$*" >> {calls}\n'
        f'if [ "$1 $2" = "api repos/o/r/issues/7/comments" ]; then printf "%s" "{existing}"; fi\n'
    )
    stub.chmod(0o755)
    (tmp_path / "plan-diff.md").write_text("<!-- airflow-mesh plan diff -->\nbody\n")
    script = next(s["run"] for s in steps(job()) if "gh pr comment" in s.get("run", ""))
    env = {
        "PATH": f"{stub.parent}:{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "o/r",
        "PR_NUMBER": "7",
        "MARKER": job()["env"]["MARKER"],
    }
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, check=True)
    return calls.read_text().splitlines()


def test_the_comment_is_created_once_then_updated(tmp_path):
    first = run_post(tmp_path / "a", "")
    assert first[-1] == "pr comment 7 --repo o/r --body-file plan-diff.md"
    again = run_post(tmp_path / "b", "123")
    assert again[-1] == "api --method PATCH repos/o/r/issues/comments/123 -F body=@plan-diff.md"
    assert "select(.body | startswith" in again[0]


def test_a_stack_that_cannot_be_planned_is_still_commented_then_fails_the_job(tmp_path):
    """`plan --diff` exits 2 when a side cannot be planned: every stack still gets its section in the
    comment (the loop goes on), and the last step fails the job naming the stack."""
    stub = tmp_path / ".venv" / "bin" / "python"
    stub.parent.mkdir(parents=True)
    stub.write_text('#!/usr/bin/env bash\necho "diff of $5"\n[ "$5" != bad ] || exit 2\n')
    stub.chmod(0o755)
    (tmp_path / "summary").touch()
    (tmp_path / "output").touch()
    j = job()
    script = next(s["run"] for s in steps(j) if s.get("id") == "diff")
    env = {
        "PATH": os.environ["PATH"],
        "STACKS": '[{"stack": "dev"}, {"stack": "bad"}, {"stack": "prod"}]',
        "BASE_SHA": "abc",
        "MARKER": j["env"]["MARKER"],
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }
    subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, check=True)
    comment = (tmp_path / "plan-diff.md").read_text()
    assert [line for line in comment.splitlines() if line.startswith("diff of")] == [
        "diff of dev",
        "diff of bad",
        "diff of prod",
    ]
    assert (tmp_path / "output").read_text() == "failed=bad\n"
    last = steps(j)[-1]
    assert last["if"] == "steps.diff.outputs.failed != ''" and "exit 1" in last["run"]
    assert last["env"]["FAILED"] == "${{ steps.diff.outputs.failed }}"
