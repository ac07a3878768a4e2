"""The access model's vocabulary: workloads, mesh edges, exits, IAM grant templates, the model itself.

Plain frozen dataclasses with no project imports, so every layer (and the audit tooling in ``plan/``)
can read a model without pulling in how it is built (``build.py``).

A grant's resources and condition values are :data:`Text`: literal strings joined with :class:`Ref`
slots. Substitution is structural: a literal is copied as it is, never parsed, so a user's S3 prefix
such as ``${aws:PrincipalTag/team}/`` or ``{region}`` can never be read as a placeholder (it used to
go through ``str.format``, which crashed on the first and silently filled the second).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["airflow", "edge", "domain", "platform"]


@dataclass(frozen=True)
class Ref:
    """A slot for a value only known once resources exist (``region``, ``logs_bucket``...)."""

    name: str


#: A literal string, one slot, or literals and slots joined in order.
Text = str | Ref | tuple[str | Ref, ...]


def fill(text: Text, values: Mapping[str, str]) -> str:
    """``text`` with every :class:`Ref` replaced by ``values[ref.name]``; literals are copied verbatim.

    Raises ``KeyError`` naming the slot if ``values`` lacks it (a program bug, never user input).
    """
    parts = (text,) if isinstance(text, (str, Ref)) else text
    return "".join(part if isinstance(part, str) else values[part.name] for part in parts)


@dataclass(frozen=True)
class Grant:
    """One IAM statement as a template: actions on resources, optionally under a condition.

    ``resources`` and the condition's values (a :data:`Text` or a list of them) may hold :class:`Ref`
    slots; :meth:`statement` fills them.
    """

    sid: str
    actions: tuple[str, ...]
    resources: tuple[Text, ...]
    condition: Mapping[str, Mapping[str, object]] | None = None
    effect: Literal["Allow", "Deny"] = "Allow"

    def statement(self, values: Mapping[str, str]) -> dict[str, object]:
        out: dict[str, object] = {
            "Sid": self.sid,
            "Effect": self.effect,
            "Action": list(self.actions),
            "Resource": [fill(r, values) for r in self.resources],
        }
        if self.condition:
            out["Condition"] = {
                op: {k: _fill(v, values) for k, v in cond.items()} for op, cond in self.condition.items()
            }
        return out


@dataclass(frozen=True)
class Workload:
    """A mesh and IAM identity: the pods that run as one ServiceAccount in one namespace."""

    name: str
    kind: Kind
    namespace: str
    service_account: str
    description: str
    #: Labels that select this workload's pods as a destination.
    selector: Mapping[str, str] = field(default_factory=dict)
    #: TCP ports it serves inside the mesh.
    ports: tuple[int, ...] = ()
    #: Ports that take traffic from outside mTLS on purpose, because their clients are the mesh data
    #: planes themselves: the collector's OTLP gRPC port, where Kuma's kuma-dp and Envoy push their own
    #: metrics, traces and access logs (that traffic is not redirected through any proxy).
    plaintext_ports: tuple[int, ...] = ()
    #: False for platform add-ons that stay outside the mesh (cert-manager talks to the API server and AWS only).
    meshed: bool = True
    #: AWS permissions; empty: the workload gets no IAM role at all.
    grants: tuple[Grant, ...] = ()
    #: Whether this program creates the ServiceAccount (False when a chart or add-on owns it).
    create_service_account: bool = True

    @property
    def principal(self) -> str:
        """SPIFFE-style identity both meshes derive from the ServiceAccount."""
        return f"ns/{self.namespace}/sa/{self.service_account}"


@dataclass(frozen=True)
class Edge:
    """An allowed connection inside the mesh."""

    source: str
    destination: str
    port: int
    purpose: str
    protocol: Literal["tcp", "udp"] = "tcp"


@dataclass(frozen=True)
class Egress:
    """A deliberate exit from the mesh to something outside the cluster."""

    source: str
    host: str
    port: int
    purpose: str


@dataclass(frozen=True)
class AccessModel:
    """Everything the platform allows, derived from the settings."""

    stack: str
    workloads: Mapping[str, Workload]
    edges: tuple[Edge, ...]
    egress: tuple[Egress, ...]
    role_mappings: tuple[tuple[str, str], ...]
    domain_namespaces: tuple[str, ...]
    #: Machine identities -> Airflow role: (``client:<client id>`` or ``scope:<scope>``, role). The
    #: api-server's auth manager (components/airflow/runtime/auth_manager.py) gives an IdP token of
    #: anything else no role at all.
    machine_mappings: tuple[tuple[str, str], ...] = ()
    #: Issuer and accepted audiences of machine tokens (empty without machine clients).
    machine_issuer: str = ""
    machine_audiences: tuple[str, ...] = ()

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Namespaces whose pods join the mesh."""
        return tuple(sorted({w.namespace for w in self.workloads.values() if w.meshed}))

    def workload(self, name: str) -> Workload:
        return self.workloads[name]

    def tcp_edges(self) -> tuple[Edge, ...]:
        """Edges a mesh can enforce with mTLS (both Kuma and ztunnel carry TCP only)."""
        return tuple(e for e in self.edges if e.protocol == "tcp")

    def inbound(self, destination: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.tcp_edges() if e.destination == destination)

    def with_role(self) -> tuple[Workload, ...]:
        """Workloads that get an IAM role, in a stable order."""
        return tuple(w for w in self.workloads.values() if w.grants)


def render_policy(grants: tuple[Grant, ...], values: Mapping[str, str]) -> dict[str, object]:
    """The IAM policy document of ``grants`` with every placeholder filled."""
    return {"Version": "2012-10-17", "Statement": [g.statement(values) for g in grants]}


def _fill(value: object, values: Mapping[str, str]) -> object:
    if isinstance(value, (str, Ref, tuple)):
        return fill(value, values)  # type: ignore[arg-type]
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value
