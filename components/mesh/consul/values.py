"""Helm values of the consul-k8s chart 1.9.11 (Consul 1.22.7), from :class:`MeshArgs` alone.

Keys are checked against upstream/consul/1.9.11/values.yaml in tests/components/mesh/test_consul.py.
"""

from __future__ import annotations

import json
from typing import Any

from components import sizing
from components.mesh.provider import MeshArgs

#: Consul datacenter name (one per stack's cluster).
DATACENTER = "dc1"
#: Namespaces whose pods are injected carry this label (the injector's namespaceSelector).
INJECT_LABEL = ("consul.hashicorp.com/connect-inject", "enabled")
TERMINATING_GATEWAY = "terminating-gateway"
#: Kubernetes Secret holding the gossip key (created by the provider, not the chart).
GOSSIP_SECRET = "consul-gossip-key"
GOSSIP_KEY = "key"
#: Root and intermediate lifetimes of Consul's built-in Connect CA; leaves follow the settings.
ROOT_CERT_TTL = "87600h"
INTERMEDIATE_CERT_TTL = "8760h"
SERVER_STORAGE = "10Gi"


def connect_ca_config(args: MeshArgs) -> dict[str, Any]:
    """Consul agent configuration of the built-in CA: leaf certificates live ``certificate_ttl_hours``
    (Consul's default is 72 h) and the proxies renew them before expiry."""
    return {
        "connect": {
            "ca_provider": "consul",
            "ca_config": {
                "leaf_cert_ttl": f"{args.certificate_ttl_hours}h",
                "intermediate_cert_ttl": INTERMEDIATE_CERT_TTL,
                "root_cert_ttl": ROOT_CERT_TTL,
            },
        }
    }


def chart_values(
    args: MeshArgs, *, storage_class: Any, namespaces: list[str], server_ca_secret: str | None
) -> dict[str, Any]:
    """The chart's values. ``storage_class``: the cluster's default class (an Input of its name);
    ``server_ca_secret``: a cert-manager CA Secret (``tls.crt``/``tls.key``) for the
    servers' TLS; ``None`` lets the chart's tls-init job generate that CA."""
    ha = args.control_plane_replicas >= 2
    # Raft needs an odd quorum: 3 servers outside dev (also with meshControlPlaneReplicas 2), 1 in dev;
    # the replicas and requests are the ones the system node group is sized by.
    replicas = sizing.mesh_replicas("consul", args.control_plane_replicas)
    servers = replicas["consul-server"]

    def size(pod: str) -> dict[str, dict[str, str]]:
        return resources(pod, args.size_tier)

    cni = _cpu_limit_raised(sizing.MESH_DAEMONSETS["consul"]["consul-cni"].helm())

    tls: dict[str, Any] = {"enabled": True, "enableAutoEncrypt": True, "verify": True, "httpsOnly": True}
    if server_ca_secret:
        tls["caCert"] = {"secretName": server_ca_secret, "secretKey": "tls.crt"}
        tls["caKey"] = {"secretName": server_ca_secret, "secretKey": "tls.key"}
    key, value = INJECT_LABEL
    return {
        "global": {
            "name": "consul",
            "datacenter": DATACENTER,
            "tls": tls,
            # ACL default deny, tokens bootstrapped and managed by the chart's server-acl-init job.
            "acls": {"manageSystemACLs": True},
            "gossipEncryption": {"autoGenerate": False, "secretName": GOSSIP_SECRET, "secretKey": GOSSIP_KEY},
        },
        "server": {
            "replicas": servers,
            "bootstrapExpect": servers,
            # The cluster's encrypted gp3 class (components/cluster/storage.py), named explicitly.
            "storage": SERVER_STORAGE,
            "resources": size("consul-server"),
            "storageClass": storage_class,
            # Raft data outlives the StatefulSet in prod (the claims, hence the volumes, are kept when
            # the release is uninstalled); Kubernetes >= 1.27 honours this (chart server-statefulset.yaml).
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain" if args.protect_state else "Delete",
                "whenScaled": "Retain",
            },
            "disruptionBudget": {"enabled": ha, "maxUnavailable": 1 if ha else None},
            "extraConfig": json.dumps(connect_ca_config(args), sort_keys=True),
        },
        "connectInject": {
            "enabled": True,
            "replicas": replicas["consul-connect-injector"],
            "resources": size("consul-connect-injector"),
            # Every pod of an enrolled namespace, and only those (namespaces are enrolled by label).
            "default": True,
            "namespaceSelector": f"matchLabels:\n  {key}: {value}\n",
            "k8sAllowNamespaces": namespaces,
            "transparentProxy": {"defaultEnabled": True, "defaultOverwriteProbes": True},
            # The CNI installs the redirection: no privileged init container in the workload pods.
            "cni": {"enabled": True, "resources": cni},
            # The dataplane sidecar of every injected pod (the chart sets none: BestEffort Envoys, and no
            # CPU limit, which stays so: the injector passes only the keys that are set).
            "sidecarProxy": {"resources": sizing.SIZES["consul-dataplane"][args.size_tier].helm()},  # type: ignore[index]
            # consul-dataplane as a native sidecar (init container with restartPolicy Always): Jobs and
            # KubernetesExecutor task pods complete (apache/airflow#40359).
            "dataplaneAsSidecarInitContainer": {"defaultEnabled": True},
            "failurePolicy": "Fail",
            # The chart would install Gateway API v0.6.2 CRDs of its own (manageExternalCRDs defaults to
            # true): a second owner of the stack's CRDs (components/edge/gateway_api.py), older than NGF
            # reads, and refused by Gateway API's safe-upgrades policy ("Installing CRDs with version
            # before v1.5.0 is prohibited"). The stack's experimental channel serves every version the
            # connect injector watches (TCPRoute v1alpha2, Gateway/GatewayClass/HTTPRoute v1beta1).
            "apiGateway": {"manageExternalCRDs": False, "manageNonStandardCRDs": False},
        },
        "terminatingGateways": {
            "enabled": True,
            "defaults": {
                "replicas": replicas["consul-terminating-gateway"],
                "resources": size("consul-terminating-gateway"),
            },
            "gateways": [{"name": TERMINATING_GATEWAY}],
        },
        "webhookCertManager": {"resources": size("consul-webhook-cert-manager")},
        "ui": {"enabled": False},
        "syncCatalog": {"enabled": False},
    }


def resources(pod: str, tier: str) -> dict[str, dict[str, str]]:
    """``resources`` of a consul-k8s value from components/sizing.py: requests and a memory limit."""
    return _cpu_limit_raised(sizing.SIZES[pod][tier].helm())  # type: ignore[index]


#: The CPU limit of the pods whose chart default has one (values.yaml: equal to the request).
CPU_LIMIT = "1"


def _cpu_limit_raised(resources: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The program sets no CPU limits (components/sizing.py), but Helm merges a value over the chart's
    defaults, which limit CPU to the request (a Raft server or a gateway throttled at 100m), and the
    null that would delete the key does not survive Pulumi's Python SDK (pulumi/pulumi#12178). So the
    limit is raised to one core: valid above any request here, and it binds no sooner than the node."""
    return {"requests": dict(resources["requests"]), "limits": {**resources["limits"], "cpu": CPU_LIMIT}}
