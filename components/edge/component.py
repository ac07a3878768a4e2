"""Edge: the only way into Airflow. NGINX Gateway Fabric behind an AWS NLB, TLS from cert-manager,
every request authenticated by oauth2-proxy, and the DNS name that points at it all.

    client --HTTPS--> NLB (Service owned here) --> NGINX data plane (Gateway "airflow")
           --> oauth2-proxy (OIDC) --> Airflow api-server

- The Gateway has an HTTPS listener (certificate from cert-manager, DNS-01) and an HTTP listener
  whose only route redirects to HTTPS. Every route removes the identity headers a client could forge
  (:data:`components.edge.routes.IDENTITY_HEADERS`); the HTTPS route adds HSTS. Its only backend is
  oauth2-proxy.
- NGF provisions the data-plane Deployment for the Gateway; its own Service is ClusterIP. The load
  balancer is a Service this program owns (:func:`load_balancer_service`), selecting the data-plane
  pods. That is what makes destroy safe: Pulumi deletes the Route 53 record first (it depends on the
  Service), then the Service, and waits until the cloud provider has deleted the NLB (the Service's
  finalizer) before the Gateway, NGF and, much later, the cluster and its subnets go. A Service left
  to NGF would be deleted by its controller asynchronously, racing NGF's own uninstall.
- The NLB is made by the EKS cloud provider (no AWS Load Balancer Controller needed) from the
  annotations it honours: type ``nlb``, ``internal`` when the stack is internal, cross-zone on, and
  the program's own subnets (public or private), so the NLB is gone before they are.

The reverse-proxy vs ExternalAuth choice and how people and machines get in: docs/edge.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import sizing, versions
from components.edge.access_log import NGINX_LOG_FORMAT
from components.edge.oauth2_proxy import COOKIE_NAME, OAuth2Proxy, OAuth2ProxyArgs, OidcClient
from components.edge.routes import (
    HTTPS_ROUTE,
    LISTENER_PORTS,
    TLS_SECRET,
    certificate_spec,
    gateway_spec,
    https_route_spec,
    proxy_settings_policy_spec,
    redirect_route_spec,
)
from components.platform import (
    GATEWAY_CLASS,
    GATEWAY_CONTROLLER,
    GATEWAY_NAME,
    GATEWAY_SELECTOR,
    GATEWAY_SERVICE_ACCOUNT,
)
from components.settings import session_size
from components.timeouts import ApiCall

LOAD_BALANCER_SERVICE = f"{GATEWAY_SERVICE_ACCOUNT}-lb"
#: The edge's access-model workloads (components/access_model/build.py), keys of ``workload_pod_annotations``.
GATEWAY_WORKLOAD, OAUTH2_PROXY_WORKLOAD, CONTROLLER_WORKLOAD = "edge-gateway", "edge-oauth2-proxy", "edge-controller"
PART_OF = {"app.kubernetes.io/part-of": "airflow-mesh", "app.kubernetes.io/component": "edge"}


@dataclass(frozen=True)
class EdgeArgs:
    """Inputs of :class:`Edge`."""

    #: Public DNS name of Airflow (inside the hosted zone; checked by the settings).
    hostname: str
    #: Route 53 zone that gets the alias record.
    hosted_zone_id: str
    #: AWS region (the NLB's canonical hosted zone depends on it).
    region: str
    #: ``internal`` (reachable from the VPC and what is peered with it) or ``internet-facing``.
    scheme: Literal["internal", "internet-facing"]
    #: CIDRs allowed to reach the NLB (node security-group rules made by the cloud provider); empty:
    #: no restriction beyond the scheme (the settings require ranges for internet-facing).
    source_ranges: Sequence[str]
    #: Subnets the NLB goes into: the public ones for internet-facing, the private ones for internal.
    #: Named explicitly (not left to tag discovery) so the load balancer is deleted before them.
    subnet_ids: pulumi.Input[Sequence[str]]
    #: NGINX data-plane and oauth2-proxy replicas; 2+ also gets PodDisruptionBudgets.
    replicas: int
    #: The (meshed) ``edge`` namespace, from the namespaces layer.
    namespace: k8s.core.v1.Namespace
    #: ClusterIssuer of the TLS certificate (ACME DNS-01), from the certificates layer.
    acme_issuer_name: str
    #: The IdP client and who it lets through.
    oidc: OidcClient
    #: oauth2-proxy's ServiceAccount, made by the identity layer.
    oauth2_proxy_service_account: k8s.core.v1.ServiceAccount
    #: ``cookie`` or ``redis`` session store of oauth2-proxy.
    session_store: Literal["cookie", "redis"] = "cookie"
    #: The largest session the stack accepts: NGINX's proxy buffers are sized for it.
    session_shape: session_size.SessionShape = session_size.DEFAULT_SHAPE
    #: The IdP host logout ends its session at (oauth2-proxy lets ``/oauth2/sign_out`` redirect there).
    logout_host: str = ""
    #: oauth2-proxy's cookie secret is regenerated after this many days.
    secret_rotation_days: int = 90
    #: Annotations the mesh wants on the data-plane pods (an entry point that takes plaintext from
    #: the load balancer); passed through the Gateway's ``infrastructure``.
    gateway_pod_annotations: Mapping[str, str] = field(default_factory=dict)
    #: Annotations the mesh wants on the chart's hook Job pods (they only call the Kubernetes API).
    job_pod_annotations: Mapping[str, str] = field(default_factory=dict)
    #: Access-model workload -> pod annotations the mesh needs for its exits (``mesh.workload_pod_annotations``);
    #: the edge applies those of ``edge-gateway``, ``edge-oauth2-proxy`` and ``edge-controller``.
    workload_pod_annotations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Tags of the stack, put on the NLB (the provider's default tags never reach it).
    tags: Mapping[str, str] = field(default_factory=dict)
    #: The Gateway API CRDs (GatewayApiCrds.ready).
    gateway_api: Sequence[pulumi.Resource] = ()
    #: cert-manager and its issuers (Certificates.ready).
    certificates: Sequence[pulumi.Resource] = ()
    #: The mesh (Mesh.ready): the edge's pods start only once the mesh can carry them.
    mesh: Sequence[pulumi.Resource] = ()
    #: Helm timeout in seconds; releases are atomic.
    timeout_seconds: int = 600
    #: ``protect`` the DNS record (prod): renaming the host or destroying the stack becomes a
    #: deliberate act, not a side effect.
    protect: bool = False
    #: Sizing tier of the NGF control and data plane requests (components/sizing.py): ``small`` in dev.
    size_tier: str = "standard"
    #: The API-call journey's timeouts (NGINX's and oauth2-proxy's come from its budget).
    api_call: ApiCall = field(default_factory=ApiCall)


class Edge(pulumi.ComponentResource):
    """NGF, the Gateway and its routes, oauth2-proxy, the TLS Certificate, the NLB and the DNS record.

    Outputs: ``url``, ``load_balancer_hostname``.
    """

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:edge:Edge", name, None, opts)
        namespace = args.namespace.metadata.name

        def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(resources))

        ngf = k8s.helm.v3.Release(
            f"{name}-ngf",
            name=GATEWAY_CONTROLLER,
            chart=versions.NGINX_GATEWAY_FABRIC_CHART,
            version=versions.NGINX_GATEWAY_FABRIC_CHART_VERSION,
            namespace=namespace,
            values=ngf_values(args),
            atomic=True,
            cleanup_on_fail=True,
            timeout=args.timeout_seconds,
            # The controller refuses to start without the Gateway API CRDs.
            opts=after(*args.gateway_api, *args.mesh),
        )
        certificate = _custom(
            f"{name}-certificate",
            "cert-manager.io/v1",
            "Certificate",
            TLS_SECRET,
            namespace,
            certificate_spec(args.hostname, args.acme_issuer_name),
            after(*args.certificates),
        )
        oauth2_proxy = OAuth2Proxy(
            f"{name}-oauth2-proxy",
            OAuth2ProxyArgs(
                hostname=args.hostname,
                oidc=args.oidc,
                namespace=args.namespace,
                service_account=args.oauth2_proxy_service_account,
                replicas=args.replicas,
                session_store=args.session_store,
                logout_host=args.logout_host,
                rotation_days=args.secret_rotation_days,
                depends_on=args.mesh,
                timeout_seconds=args.timeout_seconds,
                pod_annotations=args.workload_pod_annotations.get(OAUTH2_PROXY_WORKLOAD, {}),
                api_call=args.api_call,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        gateway = _custom(
            f"{name}-gateway",
            "gateway.networking.k8s.io/v1",
            "Gateway",
            GATEWAY_NAME,
            namespace,
            gateway_spec(
                args.hostname,
                {**args.gateway_pod_annotations, **args.workload_pod_annotations.get(GATEWAY_WORKLOAD, {})},
            ),
            after(ngf, certificate, *args.gateway_api),
        )
        redirect = redirect_route_spec(args.hostname)
        https = https_route_spec(args.hostname, oauth2_proxy.service_name, oauth2_proxy.service_port)
        for route, spec, waits in (
            ("redirect", redirect, [gateway]),
            # Traffic is only routed once oauth2-proxy is up: never to a missing backend.
            ("route", https, [gateway, oauth2_proxy.release]),
        ):
            _custom(
                f"{name}-{route}",
                "gateway.networking.k8s.io/v1",
                "HTTPRoute",
                f"{GATEWAY_NAME}-{route}",
                namespace,
                spec,
                after(*waits, *args.gateway_api),
            )

        # NGINX's timeouts on the route come from the journey's budget (components/timeouts.py), its
        # response buffer from the largest session the stack accepts (components/settings/session_size.py).
        buffer_bytes = session_size.proxy_buffer_bytes(args.session_shape, args.session_store, COOKIE_NAME)
        _custom(
            f"{name}-proxy-settings",
            "gateway.nginx.org/v1alpha1",
            "ProxySettingsPolicy",
            HTTPS_ROUTE,
            namespace,
            proxy_settings_policy_spec(HTTPS_ROUTE, args.api_call, buffer_bytes),
            after(ngf),
        )

        # The data-plane pods exist once NGF has provisioned the Gateway; Pulumi's Service await
        # then waits for ready endpoints and for the NLB hostname in the status.
        service = load_balancer_service(f"{name}-lb", namespace, args, after(gateway))
        if args.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-gateway-pdb",
                metadata={"name": GATEWAY_SERVICE_ACCOUNT, "namespace": namespace, "labels": PART_OF},
                spec={"maxUnavailable": 1, "selector": {"matchLabels": dict(GATEWAY_SELECTOR)}},
                opts=after(gateway),
            )

        self.load_balancer_hostname = service.status.apply(lambda s: s.load_balancer.ingress[0].hostname)
        nlb_zone = aws.lb.get_hosted_zone_id_output(
            load_balancer_type="network", region=args.region, opts=pulumi.InvokeOptions(parent=self)
        )
        aws.route53.Record(
            f"{name}-dns",
            zone_id=args.hosted_zone_id,
            name=args.hostname,
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=self.load_balancer_hostname, zone_id=nlb_zone.id, evaluate_target_health=True
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[service], protect=args.protect),
        )
        self.url = f"https://{args.hostname}/"
        self.register_outputs({"url": self.url, "load_balancer_hostname": self.load_balancer_hostname})


#: Strategic-merge patch of the data-plane Deployment: the pod's seccomp profile (the provisioner's
#: runAsNonRoot, fsGroup and sysctls stay; a strategic merge keeps fields it does not name).
NGINX_POD_SECCOMP = {
    "spec": {"template": {"spec": {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}}}
}


def ngf_values(args: EdgeArgs) -> dict[str, Any]:
    """Helm values of the NGINX Gateway Fabric chart (checked against its schema and values.yaml)."""
    return {
        "nginxGateway": {
            "gatewayClassName": GATEWAY_CLASS,
            # Leader-elected; a second replica takes over status and provisioning within seconds.
            "replicas": 2 if args.replicas > 1 else 1,
            "productTelemetry": {"enable": False},
            "resources": sizing.helm_resources("nginx-gateway-fabric", args.size_tier),  # type: ignore[arg-type]
            # The control plane calls the Kubernetes API: the mesh's annotations for that exit.
            "podAnnotations": dict(args.workload_pod_annotations.get(CONTROLLER_WORKLOAD, {})),
        },
        "nginx": {
            "replicas": args.replicas,
            # The NLB Service is owned by this program (see the module docstring); NGF's stays internal.
            "service": {"type": "ClusterIP"},
            "container": {"resources": sizing.helm_resources("nginx-data-plane", args.size_tier)},  # type: ignore[arg-type]
            # The provisioner sets seccomp RuntimeDefault per container, not on the pod (2.6.7
            # internal/controller/provisioner/objects.go buildNginxContainer/buildBasePodTemplateSpec):
            # an injected mesh sidecar would run without one and fail Pod Security restricted.
            "patches": [{"type": "StrategicMerge", "value": NGINX_POD_SECCOMP}],
            # NginxProxy settings: IPv4 like the VPC, no NGINX version in responses, an access log line
            # per request with the authenticated user and groups (components/edge/access_log.py), and
            # useClusterIP: NGINX sends to each backend's Service address, not its pod IPs, so the mesh
            # sees a Service hop (Kuma's delegated gateways require it; nginx/nginx-gateway-fabric#5243).
            "config": {
                "ipFamily": "ipv4",
                "serverTokens": "off",
                "useClusterIP": True,
                "logging": {"accessLog": {"format": NGINX_LOG_FORMAT, "escape": "json"}},
            },
        },
        # The pre-install hook that writes the control plane's TLS Secrets through the API server.
        "certGenerator": {"annotations": dict(args.job_pod_annotations)},
    }


def nlb_annotations(scheme: str, tags: Mapping[str, str], subnet_ids: pulumi.Input[Sequence[str]]) -> dict[str, Any]:
    """Service annotations the EKS (in-tree / cloud-controller-manager) AWS provider reads for an NLB."""
    annotations: dict[str, Any] = {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
        "service.beta.kubernetes.io/aws-load-balancer-subnets": pulumi.Output.from_input(subnet_ids).apply(
            lambda ids: ",".join(ids)
        ),
    }
    if scheme == "internal":
        annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] = "true"
    if tags:
        annotations["service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"] = ",".join(
            f"{k}={v}" for k, v in sorted(tags.items())
        )
    return annotations


def load_balancer_service(
    resource_name: str, namespace: pulumi.Input[str], args: EdgeArgs, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Service:
    spec: dict[str, Any] = {
        "type": "LoadBalancer",
        "selector": dict(GATEWAY_SELECTOR),
        # Local: NGINX sees the client address, and the NLB only targets nodes that run a data plane.
        "externalTrafficPolicy": "Local",
        "ports": [
            {"name": listener, "port": port, "targetPort": port, "protocol": "TCP"}
            for listener, port in LISTENER_PORTS.items()
        ],
    }
    if args.source_ranges:
        spec["loadBalancerSourceRanges"] = list(args.source_ranges)
    return k8s.core.v1.Service(
        resource_name,
        metadata={
            "name": LOAD_BALANCER_SERVICE,
            "namespace": namespace,
            "labels": PART_OF,
            "annotations": nlb_annotations(args.scheme, args.tags, args.subnet_ids),
        },
        spec=spec,
        opts=opts,
    )


def _custom(
    resource_name: str,
    api_version: str,
    kind: str,
    name: str,
    namespace: pulumi.Input[str],
    spec: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=api_version,
        kind=kind,
        metadata={"name": name, "namespace": namespace, "labels": PART_OF},
        spec=spec,
        opts=opts,
    )
