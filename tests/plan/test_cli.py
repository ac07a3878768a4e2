"""`python -m plan` as a person runs it: files written, summary printed, bad config refused."""

from __future__ import annotations

import json
import subprocess
import sys

from plan import harness
from tests import stacks


def run_cli(*args, cwd=harness.ROOT):
    return subprocess.run([sys.executable, "-m", "plan", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_plan_writes_resources_tree_and_summary(tmp_path):
    result = run_cli("dev", "--out", str(tmp_path), "--stacks-dir", str(stacks.DIR))
    assert result.returncode == 0, result.stderr
    # the summary comes first: what a person reads, not ~80 lines of type counts
    first = result.stdout.splitlines()[:4]
    assert first[0].startswith("stack dev: ") and " resources of " in first[0]
    assert [line.split()[0] for line in first[1:]] == ["cost", "deploy", "policy"]
    assert "policy pack   passed" in first[3]
    assert "aws:eks/cluster:Cluster" not in result.stdout
    assert "aws:eks/cluster:Cluster" in (tmp_path / "dev" / "types.txt").read_text()
    assert "passed" in (tmp_path / "dev" / "policy.md").read_text()
    doc = json.loads((tmp_path / "dev" / "resources.json").read_text())
    assert doc["stack"] == "dev"
    first = doc["resources"][0]
    assert {"type", "name", "parent", "provider", "dependsOn", "inputs"} <= set(first)
    matrix = json.loads((tmp_path / "dev" / "access-matrix.json").read_text())
    assert matrix["stack"] == "dev" and {r["workload"] for r in matrix["workloads"]} >= {"domain-marketing"}
    assert "# Access matrix: stack `dev`" in (tmp_path / "dev" / "access-matrix.md").read_text()
    assert (tmp_path / "dev" / "cost.md").exists() and (tmp_path / "dev" / "deploy-time.md").exists()
    tree = (tmp_path / "dev" / "tree.txt").read_text()
    assert tree.startswith("pulumi:pulumi:Stack  airflow-mesh-dev\n")
    assert "└─ aws:eks/nodeGroup:NodeGroup" in tree or "├─ aws:eks/nodeGroup:NodeGroup" in tree


def test_bad_config_exits_non_zero_with_the_settings_error(tmp_path):
    folder = tmp_path / "stacks"
    folder.mkdir()
    fixture = (stacks.DIR / "Pulumi.prod.yaml").read_text()
    (folder / "Pulumi.prod.yaml").write_text(fixture.replace("endpointAccess: private", "endpointAccess: public"))
    result = run_cli("prod", "--out", str(tmp_path / "out"), "--stacks-dir", str(folder))
    assert result.returncode == 1
    # the file it read, not the stacks/ folder the Pulumi CLI would read
    assert f"{folder}/Pulumi.prod.yaml: airflow-mesh:endpointAccess: 'public' is not allowed in prod" in result.stderr
    assert not (tmp_path / "out" / "prod").exists()


def test_unknown_stack_is_a_clear_error():
    result = run_cli("no-such-stack")
    assert result.returncode == 1
    assert "no stack file stacks/Pulumi.no-such-stack.yaml" in result.stderr


def test_policy_violations_are_shown_in_the_verdict_and_policy_md(plans):
    from plan import reports
    from policy.rules.model import Violation

    report = reports.build(plans["dev"])
    assert report.violations == [] and reports.policy_verdict(report).startswith("passed (")
    failing = reports.Report(report.estimate, report.timing, [Violation("s3-public", "bucket", "public")], 0.1)
    assert reports.policy_verdict(failing).startswith("FAILED: 1 violations")
    assert "| s3-public | bucket | public |" in reports.policy_markdown("dev", failing)
