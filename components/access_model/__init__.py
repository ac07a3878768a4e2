"""The access model: one data structure that says who may talk to whom and who may do what.

Built from the settings alone (no resources, no Outputs), so it is the same in preview and up, and
so every layer that enforces it is generated from it and cannot disagree with the others:

- IAM policies of every workload role (``components.identity``), rendered from :class:`Grant` templates;
- mesh permissions (Kuma MeshTrafficPermissions or Istio AuthorizationPolicies) from :class:`Edge`;
- deliberate exits from the mesh (RDS, AWS APIs, the IdP, a domain's partners) from :class:`Egress`;
- Airflow's ``AUTH_ROLES_MAPPING`` from :attr:`AccessModel.role_mappings`;
- the access matrix auditors read (``plan/access_matrix.py``).

Nothing is allowed that the model does not list.

Grant resources are templates: :class:`Ref` slots stand for values only known once resources exist
(``logs_bucket``, ``secrets_key_arn``...); :func:`render_policy` fills them. Everything else in a
template is literal text, never parsed (user strings such as S3 prefixes cannot act as placeholders).
"""

from components.access_model.build import build
from components.access_model.model import (
    AccessModel,
    Edge,
    Egress,
    Grant,
    Kind,
    Ref,
    Text,
    Workload,
    fill,
    render_policy,
)

__all__ = [
    "AccessModel",
    "Edge",
    "Egress",
    "Grant",
    "Kind",
    "Ref",
    "Text",
    "Workload",
    "build",
    "fill",
    "render_policy",
]
