"""docs/observability.md holds the documented queries verbatim and a current picture of the dashboard;
the queries only use fields the access trail's sources write."""

from __future__ import annotations

import re

from components.mesh import ACCESS_LOG_FIELDS
from components.mesh.kuma.observability import ACCESS_LOG_ATTRIBUTES
from components.observability import queries
from plan import dashboard_picture, harness

DOC = harness.ROOT / "docs" / "observability.md"
#: Fields each source writes (mesh: every provider; edge: components/edge/access_log.py; task: collector).
TRAIL_FIELDS = set(ACCESS_LOG_FIELDS) | set(ACCESS_LOG_ATTRIBUTES) | {"user", "groups", "uri", "identity"}


def test_the_three_questions_are_documented_verbatim():
    text = DOC.read_text()
    assert len(queries.QUERIES) == 3
    for name, query in queries.QUERIES.items():
        assert f"```\n{query}\n```" in text, name


def test_queries_use_only_fields_the_trail_has():
    for name, query in queries.QUERIES.items():
        used = set(re.findall(r"attributes\.([a-z_]+)", query))
        assert used and used <= TRAIL_FIELDS, (name, used - TRAIL_FIELDS)


def test_the_dashboard_picture_is_current():
    path = dashboard_picture.OUT
    assert path.read_text() == dashboard_picture.render(), "run `make dashboard-picture`"
    assert "observability-dashboard.svg" in DOC.read_text()
