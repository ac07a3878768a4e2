"""One layer's decision on one step of a request journey (what ``python -m plan explain`` prints)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hop:
    """One layer's decision on one step of a journey."""

    layer: str
    step: str
    allowed: bool
    #: The object that decides, as ``Kind name`` (or the rule that applies when no object exists).
    decided_by: str
    note: str = ""

    def line(self) -> str:
        verdict = "ALLOW" if self.allowed else "DENY "
        note = f"  ({self.note})" if self.note else ""
        return f"{verdict} {self.layer:<13} {self.step:<58} by {self.decided_by}{note}"
