"""airflow-mesh guardrails: the CrossGuard policy pack (``pulumi preview --policy-pack policy``).

Every rule lives in ``rules/`` (one small module per area) and is enforced as ``mandatory``. The
same rule functions run offline over every stack's recorded plan in ``make test``
(``tests/policy/``), so a rule that fails here fails there first.
"""

import sys
from pathlib import Path

# The CLI runs this file from the pack folder; make `rules` importable however it is started.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import ALL
from rules.crossguard import policies

PolicyPack(
    name="airflow-mesh-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(ALL),
    description="The promises of the airflow-mesh platform: IRSA pinned to one ServiceAccount, private prod API, "
    "encrypted and fenced data, strict mesh mTLS, authenticated edge, pinned charts, no secrets in Helm values.",
)
