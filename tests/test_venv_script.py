"""scripts/venv.sh, the .venv behind `make plan` and `make test`, run in a scratch copy with empty
requirements files (so no package is downloaded): Python < 3.11 is refused before anything is made,
a .venv made by another interpreter is rebuilt, and an unchanged one is left alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plan import harness


@pytest.fixture
def repo(tmp_path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(harness.ROOT / "scripts" / "venv.sh", tmp_path / "scripts" / "venv.sh")
    (tmp_path / "requirements.txt").write_text("# runtime\n")
    (tmp_path / "requirements-plan.txt").write_text("-r requirements.txt\n")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements-plan.txt\n")
    return tmp_path


def venv(repo: Path, profile: str, python: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(repo / "scripts" / "venv.sh"), profile],
        env={"PATH": "/usr/bin:/bin", "PYTHON": python, "HOME": str(repo), "PIP_NO_INDEX": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_old_python_is_refused_before_anything_is_created(repo, tmp_path):
    fake = tmp_path / "python-old"
    # answers the version question with 3.10.13 and fails the ">= 3.11" check, as python3.10 does
    fake.write_text('#!/usr/bin/env bash\ncase "$2" in *join*) echo 3.10.13 ;; *) exit 1 ;; esac\n')
    fake.chmod(0o755)
    result = venv(repo, "plan", str(fake))
    assert result.returncode == 1
    assert "needs Python 3.11 or newer; " in result.stderr and "is 3.10.13" in result.stderr
    assert not (repo / ".venv").exists()


def test_a_venv_from_another_interpreter_is_rebuilt_and_an_unchanged_one_kept(repo):
    # a .venv whose interpreter no longer runs (the broken one issue 19 saw reused)
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "bin" / "python").symlink_to(repo / "gone" / "python3.10")
    first = venv(repo, "dev", sys.executable)
    assert first.returncode == 0, first.stderr
    assert "was made by another interpreter (broken), rebuilding" in first.stdout
    assert "installing requirements-dev.txt" in first.stdout
    assert (repo / ".venv" / ".installed-dev").is_file() and (repo / ".venv" / ".installed-plan").is_file()
    again = venv(repo, "plan", sys.executable)
    assert again.returncode == 0 and again.stdout == "", "dev includes plan: nothing to do"
    (repo / "requirements-plan.txt").write_text("-r requirements.txt\n# changed\n")
    changed = venv(repo, "plan", sys.executable)
    assert "installing requirements-plan.txt" in changed.stdout and "rebuilding" not in changed.stdout
