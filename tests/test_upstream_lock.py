"""upstream.lock and scripts/fetch_upstream.py: every locked file is pinned and verified, a fetch
from a mirror reproduces the reference copy byte for byte (derived files included), a tampered file
is never installed, and in CI a missing upstream folder fails the schema tests instead of skipping."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from plan import harness
from scripts import fetch_upstream as fu

ENTRIES = fu.read_lock()
PINNED = re.compile(r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+$")


def test_every_locked_file_is_pinned_to_a_commit_or_derived_from_one():
    assert len(ENTRIES) > 1000
    assert len({e.path for e in ENTRIES}) == len(ENTRIES)
    locked = {e.path for e in ENTRIES}
    for e in ENTRIES:
        kind, _, arg = e.source.partition(":")
        if kind == "manifest":
            assert any(p.startswith(f"charts/{arg}/") for p in locked), e.path
        elif kind == "split":
            assert arg in locked, e.path
        else:
            assert PINNED.match(e.source), e.source


def test_upstream_files_match_the_lock(upstream):
    assert fu.verify(ENTRIES, upstream) == []


def test_a_fetch_from_a_mirror_reproduces_files_manifests_and_split_crds(upstream, tmp_path):
    wanted = [e for e in ENTRIES if e.path.startswith(("charts/aws-privateca-issuer-v1.9.0", "istio/1.30.3/crds/"))]
    wanted += [e for e in ENTRIES if e.path == "charts/istio-1.30.3/base/files/crd-all.gen.yaml"]
    kinds = {e.source.split(":")[0] for e in wanted}
    assert {"https", "manifest", "split"} <= kinds
    assert fu.fetch(wanted, tmp_path, f"file://{upstream}") == []
    for e in wanted:
        assert (tmp_path / e.path).read_bytes() == (upstream / e.path).read_bytes(), e.path


def test_a_file_that_differs_from_the_lock_is_not_installed(upstream, tmp_path):
    (entry,) = [e for e in ENTRIES if e.path == "airflow/1.19.0/Chart.yaml"]
    mirror = tmp_path / "mirror"
    (mirror / "airflow/1.19.0").mkdir(parents=True)
    shutil.copy(upstream / entry.path, mirror / entry.path)
    with (mirror / entry.path).open("a") as f:
        f.write("# tampered\n")
    problems = fu.fetch([entry], tmp_path / "cache", str(mirror))
    assert len(problems) == 1 and "is not the locked" in problems[0]
    assert not (tmp_path / "cache" / entry.path).exists()


def test_in_ci_a_missing_upstream_folder_fails_the_schema_tests(tmp_path):
    def run(**env):
        clean = {k: v for k, v in os.environ.items() if k not in ("CI", "AIRFLOW_MESH_REQUIRE_UPSTREAM")}
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{__file__}::{NODE}"],
            cwd=harness.ROOT,
            env={**clean, "AIRFLOW_MESH_UPSTREAM_DIR": str(tmp_path), **env},
            capture_output=True,
            text=True,
            timeout=300,
        )

    ci = run(CI="true")
    assert ci.returncode == 1 and f"lacks {len(ENTRIES)} files of upstream.lock" in ci.stdout, ci.stdout[-2000:]
    local = run()
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout[-2000:]


NODE = test_upstream_files_match_the_lock.__name__
