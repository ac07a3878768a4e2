"""README and docs/ link only documents that are in the repository (a clone has no ../shared)."""

from __future__ import annotations

import re

import pytest

from plan import harness

DOCS = [harness.ROOT / "README.md", *sorted((harness.ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_repository(doc):
    text = doc.read_text()
    assert "../shared" not in text, "users do not have ../shared"
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue
        path = (doc.parent / target).resolve()
        assert path.is_relative_to(harness.ROOT) and path.exists(), f"{doc.name}: {target}"
