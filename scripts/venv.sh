#!/usr/bin/env bash
# Make .venv ready for `make plan` (profile "plan": requirements-plan.txt) or `make test` (profile
# "dev": requirements-dev.txt, which includes the plan requirements). Idempotent and fast when
# nothing changed: the stamp .venv/.installed-<profile> records the interpreter and the sha256 of the
# requirements files it was built from.
#
# - Python >= 3.11 is checked first, before anything is created (pulumi-aws 7 and the program's
#   typing need 3.11; on 3.10 pip fails late, on a dev-only wheel).
# - A .venv made by another interpreter (a different version, or one that no longer runs) is
#   removed and rebuilt instead of being reused broken.
# - pip shows its progress: the first install downloads ~200 MB and takes minutes.
#
# Environment: PYTHON (default python3), VENV (default .venv).
set -euo pipefail
profile="${1:?usage: scripts/venv.sh plan|dev}"
case "$profile" in
  plan) requirements=requirements-plan.txt ;;
  dev) requirements=requirements-dev.txt ;;
  *) echo "scripts/venv.sh: unknown profile '$profile' (plan or dev)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

if ! found="$("$PYTHON" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))' 2>/dev/null)"; then
  echo "error: cannot run $PYTHON; install Python 3.11 or newer, or run with PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: airflow-mesh needs Python 3.11 or newer; $PYTHON is $found." >&2
  echo "       Install 3.11+ and run e.g. \`make PYTHON=python3.11 ...\`. Nothing was installed." >&2
  exit 1
fi

# The interpreter a venv runs is fixed when it is made: compare the one that made .venv with $PYTHON.
identity() { "$1" -c 'import sys, platform; print(sys.version.split()[0], platform.machine(), sys.base_prefix)'; }
want="$(identity "$PYTHON")"
if [ -e "$VENV" ] || [ -L "$VENV" ]; then
  have="$(identity "$VENV/bin/python" 2>/dev/null || echo "broken")"
  if [ "$have" != "$want" ]; then
    echo "==> $VENV was made by another interpreter ($have), rebuilding it with $PYTHON ($want)"
    rm -rf "$VENV"
  fi
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV with $PYTHON ($want)"
  "$PYTHON" -m venv "$VENV"
fi

# A stamp per profile: the interpreter and the sha256 of every requirements file the profile reads
# (requirements-dev.txt includes requirements-plan.txt, which includes requirements.txt).
digest() { printf '%s %s\n' "$want" "$(cat "$@" | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"; }
plan_digest="$(digest requirements.txt requirements-plan.txt)"
dev_digest="$(digest requirements.txt requirements-plan.txt requirements-dev.txt)"
stamp="$VENV/.installed-$profile"
wanted="$plan_digest"
[ "$profile" = dev ] && wanted="$dev_digest"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

echo "==> installing $requirements into $VENV (first run: a few minutes, ~200 MB of wheels)"
start=$SECONDS
"$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar on -r "$requirements"
echo "$wanted" > "$stamp"
# The dev profile includes everything the plan needs: `make plan` after `make test` installs nothing.
[ "$profile" = dev ] && echo "$plan_digest" > "$VENV/.installed-plan"
echo "==> $VENV ready for \`make ${profile/dev/test}\` in $((SECONDS - start)) s"
