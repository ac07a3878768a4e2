"""The fixture stacks' kept plans (tests/stacks.run) are reused only for identical inputs."""

from __future__ import annotations

from tests import stacks


def test_a_kept_plan_equals_a_fresh_one_and_overrides_are_part_of_the_key():
    kept = stacks.run("dev")  # from the cache once any test planned dev
    assert kept.to_json() == stacks.run("dev", fresh=True).to_json()
    assert stacks.run("dev", {"apiCallTimeoutSeconds": 200}).to_json() != kept.to_json()


def test_every_input_of_a_plan_is_in_the_digest():
    root = stacks.harness.ROOT
    names = {p.relative_to(root).as_posix() for p in stacks.program_files()}
    for needed in (
        "__main__.py",
        "Pulumi.yaml",
        "requirements-plan.txt",
        "components/timeouts.py",
        "components/mesh/kuma/resilience.py",
        "plan/mocks.py",
        "tests/stacks/Pulumi.dev.yaml",
    ):
        assert needed in names, needed


def test_a_changed_file_changes_the_digest(tmp_path):
    files = [tmp_path / "a.py", tmp_path / "b.yaml"]
    for f in files:
        f.write_text("x = 1\n")
    before = stacks.digest_of(files, tmp_path)
    assert stacks.digest_of(files, tmp_path) == before
    files[1].write_text("x = 2\n")
    assert stacks.digest_of(files, tmp_path) != before
