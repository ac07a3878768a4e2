"""WorkloadIdentities: a ServiceAccount for every workload of the access model, and an IAM role
(least privilege, rendered from the model's grants) for every one that calls AWS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.access_model import AccessModel, render_policy
from components.cluster.workload_role import WorkloadIdentity, WorkloadRole, WorkloadRoleArgs


@dataclass(frozen=True)
class WorkloadIdentitiesArgs:
    """Inputs of :class:`WorkloadIdentities`."""

    #: Who exists and what each may do.
    model: AccessModel
    #: IRSA or Pod Identity, from the cluster.
    identity: WorkloadIdentity
    #: Values for the grants' ``{placeholders}`` (bucket names, key ARNs, account, region...).
    values: Mapping[str, pulumi.Input[str]]
    #: Namespaces the ServiceAccounts live in (only those this program creates).
    namespaces: Mapping[str, k8s.core.v1.Namespace]


class WorkloadIdentities(pulumi.ComponentResource):
    """One ServiceAccount per workload; one :class:`WorkloadRole` per workload with AWS grants.

    Outputs: ``roles`` (workload -> WorkloadRole), ``service_accounts`` (workload -> ServiceAccount),
    ``policies`` (workload -> rendered policy JSON, for the access matrix).
    """

    def __init__(self, name: str, args: WorkloadIdentitiesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:identity:WorkloadIdentities", name, None, opts)
        values = pulumi.Output.all(**args.values)
        self.roles: dict[str, WorkloadRole] = {}
        self.service_accounts: dict[str, k8s.core.v1.ServiceAccount] = {}
        self.policies: dict[str, pulumi.Output[str]] = {}

        for workload in args.model.workloads.values():
            namespace = args.namespaces.get(workload.namespace)
            waits = [namespace] if namespace is not None else []
            labels = {"app.kubernetes.io/part-of": "airflow-mesh", "airflow-mesh/workload": workload.name}
            if workload.grants:
                grants = workload.grants
                policy = values.apply(lambda v, g=grants: json.dumps(render_policy(g, v), sort_keys=True))
                role = WorkloadRole(
                    f"{name}-{workload.name}",
                    WorkloadRoleArgs(
                        identity=args.identity,
                        namespace=workload.namespace,
                        service_account=workload.service_account,
                        policy=policy,
                        create_service_account=workload.create_service_account,
                        labels=labels,
                        depends_on=waits,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
                self.roles[workload.name] = role
                self.policies[workload.name] = policy
                if role.service_account_resource is not None:
                    self.service_accounts[workload.name] = role.service_account_resource
            elif workload.create_service_account:
                self.service_accounts[workload.name] = k8s.core.v1.ServiceAccount(
                    f"{name}-{workload.name}-sa",
                    metadata={"name": workload.service_account, "namespace": workload.namespace, "labels": labels},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
                )
        self.register_outputs({})
