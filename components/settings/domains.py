"""The stack's data domains as settings objects: who a domain's people are and what its tasks may do.

:class:`Strict` is the base of every settings object: frozen, camelCase keys, unknown keys rejected,
and no Pulumi template syntax in any string (:func:`components.settings.types.no_template`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from components.settings.types import Hostname, Printable, RoleName, S3Prefix, no_template


class Strict(BaseModel):
    """Frozen, camelCase keys, and unknown keys rejected (a typo must never be silently ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    _no_template = field_validator("*", mode="after")(no_template)


class S3Grant(Strict):
    """One bucket a domain's tasks may use."""

    bucket: str = Field(description="S3 bucket name.")
    prefixes: list[S3Prefix] = Field(
        default_factory=lambda: [""],
        description="Literal key prefixes (no `*`, `?` or `${...}`: IAM would read them); empty string: whole bucket.",
    )
    access: Literal["read", "readwrite"] = Field("read", description="`read` or `readwrite`.")


class EgressRule(Strict):
    """One external service a domain's tasks may reach."""

    host: Hostname = Field(description="DNS name of the external service.")
    port: int = Field(443, ge=1, le=65535, description="TCP port.")


class DomainConfig(Strict):
    """A data domain: who its people are and what its tasks may do."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$", description="Domain name (DNS label).")
    oidc_groups: list[Printable] = Field(min_length=1, description="IdP groups of the domain's people.")
    airflow_role: RoleName = Field(description="Airflow role the groups are mapped to (created by the program).")
    s3: list[S3Grant] = Field(default_factory=list, description="S3 buckets and prefixes the tasks may use.")
    secrets_prefix: str = Field(description="Secrets Manager prefix under airflow/<stack>/connections and /variables.")
    egress: list[EgressRule] = Field(default_factory=list, description="External services the tasks may reach.")
