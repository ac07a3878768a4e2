"""GatewayApiCrds: the Gateway API CRDs (standard channel), installed once per stack.

Both NGINX Gateway Fabric (the edge) and Istio ambient (waypoints) read the same
``gateway.networking.k8s.io`` CRDs, and a cluster can only hold one copy of each, so neither chart
installs them: this component does, from the upstream release manifest pinned in
:mod:`components.versions`, and everything that creates a Gateway or a route depends on ``ready``.

The standard channel is enough: the edge uses Gateway, HTTPRoute, listener TLS, header modifiers and
redirects, all GA. The experimental channel (needed only for NGF 2.7's ``ExternalAuth`` filter) would
also change what Istio sees; see docs/edge.md.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components import versions


class GatewayApiCrds(pulumi.ComponentResource):
    """The Gateway API standard-channel CRDs of :data:`versions.GATEWAY_API_VERSION`.

    ``yaml.v2.ConfigFile`` applies the manifest server-side and, unlike ``yaml.ConfigFile``, is
    resolved by the Kubernetes provider (not by the program), so preview shows it without fetching.

    Outputs: ``ready`` (what creates Gateway API objects depends on), ``version``.
    """

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:edge:GatewayApiCrds", name, None, opts)
        self.version = versions.GATEWAY_API_VERSION
        # A stable name: renaming would create the new copy and then delete the old one's objects, i.e.
        # the CRDs themselves and with them every Gateway and route in the cluster.
        crds = k8s.yaml.v2.ConfigFile(
            f"{name}-crds",
            file=versions.GATEWAY_API_CRDS_URL,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ready: list[pulumi.Resource] = [crds]
        self.register_outputs({"version": self.version})
