"""What a stack's settings mean once validated: :class:`Settings` is every key of
:class:`~components.settings.model.StackConfig` plus the stack and region Pulumi knows, and the names and
values the layers derive from them (cluster name, tags, subnets, fixed resource names).
"""

from __future__ import annotations

import ipaddress
from functools import cached_property

from pydantic import Field

from components.settings import regions
from components.settings.model import PROJECT, StackConfig


class Settings(StackConfig):
    """Validated settings for one stack: the config keys plus what Pulumi knows about the stack."""

    stack: str = Field(description="Pulumi stack name.")
    region: str = Field(description="AWS region (`aws:region`).")

    @property
    def partition(self) -> regions.Partition:
        """The region's AWS partition: it writes every ARN, service principal and AWS hostname."""
        return regions.partition_of(self.region)

    @property
    def project(self) -> str:
        return PROJECT

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def cluster_name(self) -> str:
        """Fixed (not auto-named) because the control-plane log group must exist under it first."""
        return f"{PROJECT}-{self.stack}"

    @property
    def tags(self) -> dict[str, str]:
        """The one tag map every AWS resource carries (provider default tags)."""
        return {
            "project": PROJECT,
            "stack": self.stack,
            "environment": self.environment,
            "owner": self.owner,
            "managed-by": "pulumi",
        }

    @cached_property
    def subnets(self) -> tuple[list[str], list[str]]:
        """(public, private) subnet CIDRs, one per AZ, explicit or carved from the VPC."""
        if self.private_subnet_cidrs and self.public_subnet_cidrs:
            return list(self.public_subnet_cidrs), list(self.private_subnet_cidrs)
        return derive_subnets(self.vpc_cidr, len(self.availability_zones))

    @property
    def addon_version_pins(self) -> dict[str, str]:
        return dict(pin.split("=", 1) for pin in self.addon_versions)

    @property
    def role_mappings(self) -> list[tuple[str, str]]:
        """(IdP group, Airflow role) pairs from airflowRoleMappings and the domains."""
        pairs = [tuple(m.split("=", 1)) for m in self.airflow_role_mappings]
        pairs += [(group, d.airflow_role) for d in self.domains for group in d.oidc_groups]
        return pairs  # type: ignore[return-value]

    @property
    def machine_issuer_url(self) -> str:
        return self.machine_token_issuer_url or self.oidc_issuer_url  # empty: the people's issuer

    @property
    def machine_mappings(self) -> list[tuple[str, str]]:  # (client:<id> | scope:<name>, Airflow role)
        return [tuple(m.rsplit("=", 1)) for m in self.machine_role_mappings]  # type: ignore[misc]

    @property
    def logs_bucket_name(self) -> str:
        """Fixed name of the task-log bucket: IAM policies and the access matrix name it before it exists."""
        return f"{self.cluster_name}-{self.aws_account_id}-task-logs"

    @property
    def access_trail_log_group(self) -> str:
        """Fixed names (IAM names them before they exist): the access trail, then the EMF metrics group."""
        return f"/{PROJECT}/{self.stack}/access-trail"

    @property
    def metrics_log_group(self) -> str:
        return f"/{PROJECT}/{self.stack}/metrics"

    @property
    def metrics_namespace(self) -> str:
        return f"AirflowMesh/{self.stack}"  # CloudWatch namespace of the dashboard and alarms

    @property
    def secrets_prefix(self) -> str:
        """Secrets Manager prefix of this stack's Airflow connections and variables."""
        return f"airflow/{self.stack}"


def derive_subnets(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Private subnets take the first eighths of the VPC; public ones share the last eighth."""
    vpc = ipaddress.ip_network(vpc_cidr)
    eighths = list(vpc.subnets(prefixlen_diff=3))
    private = [str(net) for net in eighths[:az_count]]
    public = [str(net) for net in list(eighths[-1].subnets(prefixlen_diff=3))[:az_count]]
    return public, private
