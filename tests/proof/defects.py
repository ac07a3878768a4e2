"""Defects the proof finds in the program today, each an expected failure until it is fixed in
components/ (proof/FINDINGS.md has object, field, why a cluster fails and the proposed fix).

``xfail(strict=True)``: when a fix lands the test passes, pytest reports XPASS as a failure, and
the integrator removes the entry here. Keys are test names; values map set ids to the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from proof import variants

ALL = variants.all_ids()
DATA_GAP = "prod-redis-sessions"

_GAP = (
    "offline data gap: oauth2-proxy's redis-ha 4.35.10 subchart is not in $AIRFLOW_MESH_UPSTREAM_DIR/charts, "
    "so helm install (and this render) fails"
)

_TLSROUTE_GAP = (
    "offline data gap G2: $AIRFLOW_MESH_UPSTREAM_DIR/gateway-api/v1.5.1/experimental lacks "
    "gateway.networking.k8s.io_tlsroutes.yaml (its kustomization.yaml lists it), so Linkerd's TLSRoute exits "
    "cannot be validated against their schema"
)

DEFECTS: dict[str, dict[str, str]] = {
    "apiserver": {"dev-linkerd": _TLSROUTE_GAP},
}


def params(check: str) -> list[Any]:
    """Set ids for a per-set test of ``check``, with the expected failures marked."""
    out = []
    for set_id in ALL:
        reason = DEFECTS.get(check, {}).get(set_id)
        if set_id == DATA_GAP:
            reason = _GAP if reason is None else f"{_GAP}; and {reason}"
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(set_id, marks=marks, id=set_id))
    return out
