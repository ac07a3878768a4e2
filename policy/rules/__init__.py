"""The platform's promises as policy rules, one small module per area.

``ALL`` is what the pack enforces (``policy/__main__.py``) and what ``make test`` runs over every
stack's recorded plan (``policy.rules.offline``).
"""

from __future__ import annotations

from . import aws, data, edge, eks, helm, iam, mesh, nodes, s3
from .model import Rule

ALL: list[Rule] = [
    *iam.RULES,
    *eks.RULES,
    *nodes.RULES,
    *s3.RULES,
    *data.RULES,
    *helm.RULES,
    *mesh.RULES,
    *edge.RULES,
    *aws.RULES,
]
