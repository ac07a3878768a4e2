"""access-matrix.md stays readable: a Mermaid picture of who may reach whom, and no line longer than
a screen even at 50 domains (it had 8,876-character lines: one Deny naming 49 secret prefixes)."""

from __future__ import annotations

import re

import pytest

from components import access_model
from plan import access_matrix, access_picture
from plan.bench import synthetic_domains
from tests import stacks

MAX_LINE = 200


@pytest.fixture(scope="module")
def fifty() -> dict:
    settings = stacks.settings_for("dev", {"domains": synthetic_domains(50)})
    return access_matrix.build(access_model.build(settings), settings)


def edges(markdown: str) -> set[tuple[str, str, str]]:
    return set(re.findall(r"^  (\w+) -(?:->\|([^|]+)\||\.->) (\w+)$", markdown, re.M))


def test_fifty_domains_give_short_lines_and_a_picture_mermaid_can_draw(fifty):
    text = access_matrix.to_markdown(fifty)
    longest = max(text.splitlines(), key=len)
    assert len(longest) <= MAX_LINE, longest[:300]
    picture = access_picture.mermaid(fifty)
    assert picture.startswith("```mermaid\nflowchart LR\n") and picture in text
    assert 100 < len(edges(picture)) < 500, "Mermaid's default maxEdges is 500"


def test_every_allowed_mesh_call_is_an_arrow_with_its_port(plan):
    settings = stacks.settings_for(plan.stack)
    matrix = access_matrix.build(access_model.build(settings), settings)
    drawn = edges(access_picture.mermaid(matrix))
    for row in matrix["workloads"]:
        for d in row["meshDestinations"]:
            port = f"{d['port']}/udp" if d["protocol"] == "udp" else str(d["port"])
            arrow = (access_picture.node_id(row["workload"]), port, access_picture.node_id(d["to"]))
            assert arrow in drawn, arrow
        if row["egress"]:
            assert any(s == access_picture.node_id(row["workload"]) and not p for s, p, _ in drawn), row["workload"]


def test_many_resources_under_one_prefix_are_listed_once_each_under_it(fifty):
    text = access_matrix.to_markdown(fifty)
    never = (
        r"\*\*never\*\* secretsmanager:GetSecretValue,\s+secretsmanager:DescribeSecret "
        r"on 100 resources under `arn:aws:secretsmanager:[^`]+`:\s+`…"
    )
    assert re.search(never, text)
    assert "`…connections/team07/*`" in text
