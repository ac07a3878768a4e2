"""The `explain` examples in README.md, run on the example stack they name: the output must match."""

from __future__ import annotations

import functools
import re
import shlex

import pytest

from plan import __main__ as plan_main
from plan import explain, harness

README = harness.ROOT / "README.md"
_RUN = harness.run


def examples() -> list[tuple[list[str], list[str]]]:
    """(argv after `python -m plan`, expected output lines) of each `$ python -m plan explain` example."""
    text = README.read_text()
    start = text.index("### Why was a request denied?")
    block = re.search(r"```console\n(.*?)```", text[start:], re.S)
    assert block, "no console block in the explain section"
    out: list[tuple[list[str], list[str]]] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ python -m plan explain "):
            out.append((shlex.split(line)[4:], []))
        else:
            out[-1][1].append(line)
    return out


@functools.cache
def _plan(stack: str) -> harness.Plan:
    return _RUN(stack)


@pytest.mark.parametrize(("argv", "expected"), examples())
def test_readme_example_prints_what_the_readme_says(argv, expected, monkeypatch, capsys):
    monkeypatch.setattr(harness, "run", lambda stack, stacks_dir=None, **_: _plan(stack))
    code = plan_main.main(argv)
    printed = capsys.readouterr().out.splitlines()
    assert printed == expected
    assert code == (0 if expected[-1] == "=> ALLOWED end to end" else 1)


def test_readme_has_examples_of_every_target_kind():
    targets = [argv[argv.index("--to") + 1] for argv, _ in examples()]
    assert any(t.startswith("/") for t in targets) and any(" " in t for t in targets)
    assert any(re.fullmatch(r"[a-z0-9-]+:\d+", t) for t in targets)


def test_unknown_workload_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setattr(harness, "run", lambda stack, stacks_dir=None, **_: _plan(stack))
    assert plan_main.main(["explain", "--from", "nobody", "--to", "airflow-api-server:8080", "dev"]) == 2
    assert "unknown workload 'nobody'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="URL path or dag"):
        explain.Explainer(_plan("dev"), harness.settings_for("dev")).explain("group:x", "airflow-api-server:8080")


def test_a_bad_stack_or_target_is_a_usage_error_without_a_traceback(capsys, monkeypatch, tmp_path):
    """Exit 2 and one line naming the problem, never 1 (a denied hop) or a traceback."""
    ask = ["explain", "--from", "airflow-api-server", "--to"]
    assert plan_main.main([*ask, "airflow-triggerer:8794", "no-such-stack"]) == 2
    assert "no stack file stacks/Pulumi.no-such-stack.yaml" in capsys.readouterr().err
    dev = (harness.ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.bad.yaml").write_text(dev + "  airflow-mesh:meshProvider: linkrd\n")
    assert plan_main.main([*ask, "airflow-triggerer:8794", "bad", "--stacks-dir", str(tmp_path)]) == 2
    assert "airflow-mesh:meshProvider: 'linkrd': allowed: kuma, istio, linkerd, consul" in capsys.readouterr().err
    monkeypatch.setattr(harness, "run", lambda stack, stacks_dir=None, **_: _plan(stack))
    for target in ("example.okta.com:https", "https://example.okta.com:443"):
        assert plan_main.main([*ask, target, "dev"]) == 2
        assert f"target {target!r}: write <workload>:<port> or <host>:<port>" in capsys.readouterr().err
