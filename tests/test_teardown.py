"""Safe teardown, read off the recorded plans (what `pulumi destroy` would act on).

prod keeps its data: stateful resources are `protect`ed and data stores are retained on delete.
dev goes completely: nothing protected, buckets emptied on delete, the database deletable.
`pulumi destroy` deletes in reverse dependency order, so the order is right when each resource
*requires* (dependencies, parents, providers, transitively) what must outlive it.
Tests about a layer that has not landed yet skip, naming the resource types they wait for.
"""

from __future__ import annotations

import pytest

from plan.harness import Plan
from policy.rules.edge import internet_facing

RDS = "aws:rds/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
KMS_KEY = "aws:kms/key:Key"
DNS_RECORD = "aws:route53/record:Record"
RELEASE = "kubernetes:helm.sh/v3:Release"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
SERVICE = "kubernetes:core/v1:Service"
KUMA_POLICIES = (
    "kubernetes:kuma.io/v1alpha1:MeshTLS",
    "kubernetes:kuma.io/v1alpha1:MeshTrafficPermission",
    "kubernetes:kuma.io/v1alpha1:MeshIdentity",
    "kubernetes:kuma.io/v1alpha1:MeshTrust",
)
ISTIO_POLICIES = (
    "kubernetes:security.istio.io/v1:PeerAuthentication",
    "kubernetes:security.istio.io/v1:AuthorizationPolicy",
)
CONTROL_PLANE_CHARTS = {"kuma": ("kuma",), "istio": ("istiod",)}
MESH_SYSTEM_NAMESPACES = ("kuma-system", "istio-system")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")


def of_types(plan: Plan, *types: str) -> list[dict]:
    return [r for r in plan.resources if r["type"] in types]


def need(plan: Plan, *types: str) -> list[dict]:
    found = of_types(plan, *types)
    assert found, f"{plan.stack}: no {' / '.join(types)} in the plan (a renamed type would hide these checks)"
    return found


def options(r: dict) -> dict:
    return r.get("options") or {}


# --- what prod keeps ---------------------------------------------------------------------------


@pytest.mark.parametrize("typ", [RDS, BUCKET, KMS_KEY, DNS_RECORD])
def test_prod_stateful_resources_are_protected(plans, typ):
    for r in need(plans["prod"], typ):
        assert options(r).get("protect"), f"{r['name']} must be protected in prod"


@pytest.mark.parametrize("typ", [RDS, BUCKET, KMS_KEY])
def test_prod_data_stores_and_their_keys_are_retained_on_delete(plans, typ):
    """Lifting `protect` and destroying must still leave the data (and the key that decrypts it)."""
    for r in need(plans["prod"], typ):
        assert options(r).get("retainOnDelete"), f"{r['name']} must be retained on delete in prod"


def test_prod_buckets_are_not_emptied_on_delete_and_databases_keep_a_final_snapshot(plans):
    prod = plans["prod"]
    for b in need(prod, BUCKET):
        assert b["inputs"].get("forceDestroy") is False
    for db in of_types(prod, RDS):
        assert db["inputs"].get("deletionProtection") is True
        assert not db["inputs"].get("skipFinalSnapshot")


def test_retained_data_keeps_the_key_that_encrypts_it(plans):
    prod = plans["prod"]
    keys = {r["name"] for r in of_types(prod, KMS_KEY)}
    stores = [r for r in of_types(prod, RDS, BUCKET) if options(r).get("retainOnDelete")]
    encryption = [r for r in prod.resources if "ServerSideEncryption" in r["type"]]
    for store in stores:
        used = set(store["dependsOn"]) & keys
        used |= {k for e in encryption if store["name"] in e["dependsOn"] for k in set(e["dependsOn"]) & keys}
        for key in used:
            assert options(prod[key]).get("retainOnDelete"), f"{store['name']} is kept but its key {key} is not"


# --- what dev lets go --------------------------------------------------------------------------


def test_dev_protects_nothing_so_destroy_goes_through(plans):
    protected = [r["name"] for r in plans["dev"].resources if options(r).get("protect")]
    assert protected == []


def test_dev_buckets_are_emptied_and_databases_deletable(plans):
    dev = plans["dev"]
    for b in need(dev, BUCKET):
        assert b["inputs"].get("forceDestroy") is True, f"{b['name']}: a non-empty bucket blocks destroy"
    for db in of_types(dev, RDS):
        assert db["inputs"].get("deletionProtection") is not True
        assert db["inputs"].get("skipFinalSnapshot") is True, "without it destroy asks for a snapshot name"


def test_dev_keys_go_after_the_shortest_window(plans):
    for key in need(plans["dev"], KMS_KEY):
        assert key["inputs"].get("deletionWindowInDays") == 7


# --- destroy order -----------------------------------------------------------------------------


def mesh_policies(plan: Plan) -> tuple[str, list[dict]]:
    """(mesh, its policy resources); skips while the mesh layer has not landed."""
    policies = need(plan, *KUMA_POLICIES, *ISTIO_POLICIES)
    return ("kuma" if policies[0]["type"] in KUMA_POLICIES else "istio"), policies


def namespace(r: dict) -> str | None:
    return r["inputs"].get("namespace") or (r["inputs"].get("metadata") or {}).get("namespace")


def workloads(plan: Plan) -> list[dict]:
    """Airflow and domain workloads: releases and pods' controllers outside the platform's own namespaces."""
    charts = {c for cs in CONTROL_PLANE_CHARTS.values() for c in cs} | {"base", "istio-cni", "ztunnel"}
    found = [r for r in of_types(plan, RELEASE) if r["inputs"].get("chart") == "airflow"]
    found += [
        r
        for r in plan.resources
        if r["type"].startswith("kubernetes:")
        and r["type"].rsplit(":", 1)[-1] in WORKLOAD_KINDS
        and (namespace(r) == "airflow" or str(namespace(r)).startswith("domain-"))
    ]
    return [r for r in found if r["inputs"].get("chart") not in charts]


def test_workloads_go_before_the_mesh_policies_that_admit_them(plan):
    _, policies = mesh_policies(plan)
    found = workloads(plan)
    assert found, f"{plan.stack}: no Airflow release or domain workload in the plan"
    for w in found:
        ns = namespace(w)
        admitting = [p["name"] for p in policies if namespace(p) in (ns, *MESH_SYSTEM_NAMESPACES, None)]
        missing = sorted(set(admitting) - plan.requires(w["name"]))
        assert not missing, f"{w['name']} must depend on {missing}, or destroy removes them while it runs"


def test_mesh_policies_go_before_the_mesh_control_plane(plan):
    mesh, policies = mesh_policies(plan)
    control_plane = [
        r["name"] for r in of_types(plan, RELEASE) if r["inputs"].get("chart") in CONTROL_PLANE_CHARTS[mesh]
    ]
    assert control_plane, f"{plan.stack}: no {mesh} control-plane release in the plan"
    for p in policies:
        assert set(control_plane) <= plan.requires(p["name"]), f"{p['name']} must depend on {control_plane}"


def lb_services(plan: Plan) -> list[dict]:
    return [r for r in of_types(plan, SERVICE) if (r["inputs"].get("spec") or {}).get("type") == "LoadBalancer"]


def subnets_for(plan: Plan, service: dict) -> list[str]:
    """The subnets the Service's load balancer puts its ENIs in: public (elb) or private (internal-elb)."""
    meta = service["inputs"].get("metadata") or {}
    role = "elb" if internet_facing(service["inputs"].get("spec") or {}, meta.get("annotations")) else "internal-elb"
    return [
        s["name"]
        for s in of_types(plan, "aws:ec2/subnet:Subnet")
        if (s["inputs"].get("tags") or {}).get(f"kubernetes.io/role/{role}")
    ]


def test_load_balancer_and_dns_record_go_before_cluster_nodes_and_subnets(plan):
    """The NLB behind a LoadBalancer Service holds ENIs in its subnets, and only the cluster can delete
    it: the Service (and the Gateway and DNS record in front of it) must be gone before the nodes,
    the cluster and those subnets are."""
    services = lb_services(plan)
    assert services, f"{plan.stack}: no LoadBalancer Service in the plan"
    cluster = {r["name"] for r in of_types(plan, "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup")}

    def outlives(r: dict, needed: set[str]) -> None:
        missing = sorted(needed - plan.requires(r["name"]))
        assert not missing, f"{r['name']} must (transitively) depend on {missing}"

    for service in services:
        subnets = subnets_for(plan, service)
        assert subnets, f"no subnet is tagged for {service['name']}'s load balancer"
        outlives(service, cluster | set(subnets))
        for record in of_types(plan, DNS_RECORD):
            if service["name"] in plan.requires(record["name"]):
                outlives(record, cluster | set(subnets))
    for gateway in of_types(plan, GATEWAY):
        outlives(gateway, cluster)


def test_dns_record_points_at_a_load_balancer_it_depends_on(plan):
    records = need(plan, DNS_RECORD)
    services = {s["name"] for s in lb_services(plan)}
    for record in records:
        assert services & plan.requires(record["name"]), f"{record['name']} must depend on the load balancer Service"


def test_the_kubernetes_provider_outlives_everything_it_manages(plan):
    """Every Kubernetes object is deleted through the cluster's provider, which needs the cluster,
    its nodes and its add-ons until the last object is gone."""
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    needs = plan.requires(provider["name"])
    for typ in ("aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup"):
        assert {r["name"] for r in plan.of_type(typ)} <= needs
