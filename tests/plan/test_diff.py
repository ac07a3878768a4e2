"""`python -m plan --diff`: a short Markdown account of what a change does to a stack."""

from __future__ import annotations

import json
import re

import pytest

from components import access_model
from plan import access_matrix, diff, harness
from tests import stacks

EXTRA = {
    "name": "sales",
    "oidcGroups": ["data-sales"],
    "airflowRole": "sales",
    "s3": [{"bucket": "example-sales-dev", "access": "readwrite"}],
    "secretsPrefix": "sales",
}


def side(label, plan, overrides=None) -> diff.Side:
    settings = stacks.settings_for(plan.stack, overrides)
    matrix = json.loads(access_matrix.to_json(access_matrix.build(access_model.build(settings), settings)))
    return diff.Side(label, {r["name"]: r for r in plan.resources}, matrix)


def test_a_new_domain_shows_its_resources_cost_and_access(plans):
    domains = json.loads(stacks.stack_config("dev")[0]["airflow-mesh:domains"])
    overrides = {"domains": [*domains, EXTRA]}
    text = diff.render("dev", side("main", plans["dev"]), side("branch", stacks.run("dev", overrides), overrides))
    assert text.startswith("### Plan diff of `dev`: main → branch\n")
    rows = dict(
        re.findall(
            r"^\| (resources|monthly cost|first `pulumi up`|policy pack violations) \|.*\| (\S+) \|$", text, re.M
        )
    )
    assert rows["resources"].startswith("+") and rows["policy pack violations"] == "="
    assert re.search(r"^\*\*Resources:\*\* \d+ added, 0 removed, \d+ changed\.$", text, re.M)
    assert "-sales" in text.split("- added:")[1].splitlines()[1]
    assert "- `domain-sales` (new)" in text
    assert "  - + calls `airflow-api-server:8080`" in text
    assert "IdP group `data-sales` -> Airflow role `sales`" in text
    assert max(len(line) for line in text.splitlines()) < 250


def test_an_unchanged_stack_says_so(plans):
    text = diff.render("dev", side("a", plans["dev"]), side("b", plans["dev"]))
    assert "**Resources:** no change." in text and "**Access:** no change" in text
    assert "| resources | " in text and text.count("| = |") == 4


def test_two_stacks_compare_by_shape_not_by_name():
    compared = diff.main("stack:staging", "prod", stacks.DIR)
    text = compared.text
    assert compared.failed == ()
    assert "### Plan diff of `prod`: `staging` → `prod`" in text
    assert "- `domain-risk` (new)" in text
    listed = re.findall(r"^  - `([^`]+)`", text, re.M)
    assert listed and all("<stack>" in n and "-prod-" not in n and "-staging-" not in n for n in listed)
    assert "`airflow-mesh-<stack>-identity-domain-risk-role` (Role)" in text, "prod's extra domain is added"


def test_a_git_ref_is_planned_by_its_own_code_and_unknown_refs_are_refused():
    stack = harness.stack_names()[0]
    base = diff.at_ref("HEAD", stack)
    assert base.resources and base.matrix and base.label == "`HEAD`"
    new = diff.at_ref("HEAD", "no-such-stack")
    assert new.error == "no such stack there: stacks/Pulumi.no-such-stack.yaml"
    assert new.new and not new.failed, "a stack this change adds is no failure to plan"
    with pytest.raises(ValueError, match="not a git commit"):
        diff.at_ref("no-such-ref-0123", stack)


def test_a_stack_outside_stacks_is_planned_on_both_sides_and_a_failing_change_is_no_removal(tmp_path):
    """``--stacks-dir`` reaches both sides (it was ignored: "not planned" twice, then "no change"), and a
    change whose stack file fails to plan is reported as that, not as every resource removed."""
    (tmp_path / "Pulumi.mine.yaml").write_text((stacks.DIR / "Pulumi.dev.yaml").read_text())
    compared = diff.main("HEAD", "mine", tmp_path)
    assert "not planned" not in compared.text and "| resources | " in compared.text and compared.failed == ()
    broken = diff.Side("this change", None, None, "invalid stack configuration: ...")
    text = diff.render("mine", diff.in_tree("mine", stacks_dir=tmp_path), broken)
    assert "**Resources:** not compared: this change did not plan." in text and "removed" not in text
    (tmp_path / "Pulumi.bad.yaml").write_text((stacks.DIR / "Pulumi.dev.yaml").read_text() + "  airflow-mesh:x: 1\n")
    assert diff.in_tree("bad", stacks_dir=tmp_path).error.startswith(
        f"invalid stack configuration: {tmp_path}/Pulumi.bad.yaml: airflow-mesh:x: unknown key"
    )


def test_a_side_that_could_not_be_planned_makes_the_command_exit_2_naming_the_file(tmp_path, capsys):
    """It printed "not planned" and exited 0, so a CI job running it passed. Now: the Markdown as
    before, one ``error:`` line per failed side on stderr (render()'s wording, the stack file and the
    first problem), exit 2 like the command's other errors."""
    from plan.__main__ import main

    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text((stacks.DIR / "Pulumi.dev.yaml").read_text() + "  airflow-mesh:x: 1\n")
    problem = f"not planned (invalid stack configuration: {bad}: airflow-mesh:x: unknown key)"
    assert main(["--diff", "HEAD", "bad", "--stacks-dir", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert f"this change: {problem}." in out
    assert err.splitlines() == [f"error: `HEAD`: {problem}", f"error: this change: {problem}"]

    assert main(["--diff", "stack:no-such-stack", "dev"]) == 2
    out, err = capsys.readouterr()
    assert "**Resources:**" in out
    missing = f"no stack file stacks/Pulumi.no-such-stack.yaml (stacks: {', '.join(harness.stack_names())})"
    assert err == f"error: `no-such-stack`: not planned ({missing})\n"

    (tmp_path / "Pulumi.good.yaml").write_text((stacks.DIR / "Pulumi.dev.yaml").read_text())
    assert main(["--diff", "stack:good", "good", "--stacks-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""
