"""AirflowDomains: what lets Airflow run a data domain's tasks in the domain's own namespace."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.airflow import inputs, pods, runtime
from components.platform import AIRFLOW_NAMESPACE


@dataclass(frozen=True)
class AirflowDomainsArgs:
    """Inputs of :class:`AirflowDomains`."""

    #: Values inputs (the pod templates are rendered from the same data as the chart's).
    chart: inputs.ChartInputs
    #: Every namespace by name; the domains' and ``airflow`` must be among them.
    namespaces: Mapping[str, k8s.core.v1.Namespace]
    #: ServiceAccount the scheduler runs as (it creates, watches and deletes task pods).
    scheduler_account: str
    #: ServiceAccount the api-server runs as (it reads running tasks' logs from their pods).
    api_server_account: str


class AirflowDomains(pulumi.ComponentResource):
    """Per domain: a Role for the scheduler (task pods) and one for the api-server (their logs), bound
    in the domain namespace only; one ConfigMap in ``airflow`` holding every domain's pod template, and
    one holding the api-server's execution-scope plugin.

    No ClusterRole anywhere: the executor watches exactly the listed namespaces.

    Outputs: ``resources`` (what the release must wait for).
    """

    def __init__(self, name: str, args: AirflowDomainsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:airflow:AirflowDomains", name, None, opts)
        self.resources: list[pulumi.Resource] = []
        for domain in args.chart.domains:
            namespace = args.namespaces[domain.namespace]
            self.resources += self._grant(
                f"{name}-{domain.name}-pod-launcher",
                "airflow-pod-launcher",
                domain.namespace,
                namespace,
                args.scheduler_account,
                POD_LAUNCHER_RULES,
            )
            self.resources += self._grant(
                f"{name}-{domain.name}-log-reader",
                "airflow-log-reader",
                domain.namespace,
                namespace,
                args.api_server_account,
                LOG_READER_RULES,
            )
        # The api-server's plugin that scopes the execution API to the caller's domain (values: apiServer
        # extraVolumeMounts); without domains it scopes platform tasks away from nothing, harmlessly.
        self.resources.append(
            k8s.core.v1.ConfigMap(
                f"{name}-plugins",
                metadata={"name": inputs.PLUGINS_CONFIGMAP, "namespace": AIRFLOW_NAMESPACE, "labels": _LABELS},
                data={
                    inputs.PLUGIN_FILE: runtime.execution_scope_source(),
                    inputs.AUTH_MANAGER_FILE: runtime.auth_manager_source(),
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[args.namespaces[AIRFLOW_NAMESPACE]]),
            )
        )
        if args.chart.domains:
            templates = {
                f"{d.name}.yaml": json.dumps(pods.pod_template(args.chart, d), indent=2) for d in args.chart.domains
            }
            self.resources.append(
                k8s.core.v1.ConfigMap(
                    f"{name}-pod-templates",
                    metadata={
                        "name": inputs.POD_TEMPLATES_CONFIGMAP,
                        "namespace": AIRFLOW_NAMESPACE,
                        "labels": _LABELS,
                    },
                    data=templates,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[args.namespaces[AIRFLOW_NAMESPACE]]),
                )
            )
        self.register_outputs({})

    def _grant(
        self,
        name: str,
        role_name: str,
        namespace: str,
        waits: k8s.core.v1.Namespace,
        account: str,
        rules: Sequence[Mapping[str, object]],
    ) -> list[pulumi.Resource]:
        role = k8s.rbac.v1.Role(
            name,
            metadata={"name": role_name, "namespace": namespace, "labels": _LABELS},
            rules=list(rules),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[waits]),
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-binding",
            metadata={"name": role_name, "namespace": namespace, "labels": _LABELS},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
            subjects=[{"kind": "ServiceAccount", "name": account, "namespace": AIRFLOW_NAMESPACE}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
        )
        return [role, binding]


#: What the KubernetesExecutor does with task pods (the chart's pod-launcher role, without exec).
POD_LAUNCHER_RULES = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
)
#: What the api-server needs to show a running task's log.
LOG_READER_RULES = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
)
_LABELS = {"app.kubernetes.io/part-of": "airflow-mesh", "app.kubernetes.io/component": "airflow-domains"}
