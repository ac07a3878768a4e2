"""GatewayApiCrds: the Gateway API CRDs, installed once per stack, from the channel the mesh needs.

NGINX Gateway Fabric (the edge) and every mesh read the same ``gateway.networking.k8s.io`` CRDs, and a
cluster can only hold one copy of each, so no chart installs them: this component does, from the
upstream release manifest pinned in :mod:`components.versions`, and everything that creates a Gateway
or a route depends on ``ready``. No mesh chart may install them too (Consul's chart does by default:
see components/mesh/consul/values.py).

The channel is the mesh provider's ``GATEWAY_API_CHANNEL``:

- ``standard`` (Kuma, Istio): the edge uses Gateway, HTTPRoute, listener TLS, header modifiers and
  redirects, all GA. The experimental channel would also change what Istio sees; see docs/edge.md.
- ``experimental`` (Linkerd, Consul): their controllers read route versions that only the
  experimental channel serves in v1.5.1: Linkerd edge-26.8.3 reads ``TLSRoute`` at ``v1alpha2`` and
  Consul 1.9.11's API-gateway controller watches ``TCPRoute`` at ``v1alpha2`` (and fails to start
  without it). The standard channel serves neither (gateway-api v1.5.1
  ``config/crd/standard/gateway.networking.k8s.io_tlsroutes.yaml``: ``v1alpha2`` ``served: false``;
  no ``tcproutes`` at all); the experimental one serves ``TLSRoute`` ``v1``, ``v1alpha2``,
  ``v1alpha3`` and ``TCPRoute`` ``v1alpha2``. The channel changes nothing NGF watches: NGF 2.7
  (main-e55bfe33 internal/controller/manager.go) watches TLSRoute and ListenerSet at ``v1``, which
  both channels serve, and TCPRoute/UDPRoute only at ``v1``, which neither serves; it ignores routes
  whose parent is not a Gateway (Linkerd's exits: state/graph/route_common.go
  ``findGatewayForParentRef``), and its experimental flag, off, gates only fields the routes do not use
  (``ExternalAuth``, ``sessionPersistence``: state/graph/httproute.go).

Changing the channel of a running cluster (moving a stack from Kuma to Linkerd) is refused by the
``safe-upgrades.gateway.networking.k8s.io`` policy both manifests install ("Installing experimental
CRDs on top of standard channel CRDs is prohibited by default"); docs/mesh.md gives the steps.
"""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components import versions

Channel = Literal["standard", "experimental"]


class GatewayApiCrds(pulumi.ComponentResource):
    """The Gateway API CRDs of :data:`versions.GATEWAY_API_VERSION` from ``channel``.

    ``yaml.v2.ConfigFile`` applies the manifest server-side and, unlike ``yaml.ConfigFile``, is
    resolved by the Kubernetes provider (not by the program), so preview shows it without fetching.

    Outputs: ``ready`` (what creates Gateway API objects depends on), ``version``, ``channel``.
    """

    def __init__(self, name: str, channel: Channel = "standard", opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:edge:GatewayApiCrds", name, None, opts)
        self.version = versions.GATEWAY_API_VERSION
        self.channel = channel
        # A stable name whatever the channel: renaming would create the new copy and then delete the old
        # one's objects, i.e. the CRDs themselves and with them every Gateway and route in the cluster.
        crds = k8s.yaml.v2.ConfigFile(
            f"{name}-crds",
            file=versions.gateway_api_crds_url(channel),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ready: list[pulumi.Resource] = [crds]
        self.register_outputs({"version": self.version, "channel": self.channel})
