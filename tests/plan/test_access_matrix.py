"""The access matrix says exactly what the generated resources allow (derived here independently
from resources.json), and the program scales linearly with the number of domains."""

from __future__ import annotations

import json
import re

from components import access_model
from components.cluster.addons import ADDON_ROLES
from components.cluster.storage import ebs_csi_key_policy
from plan import access_matrix
from plan.bench import synthetic_domains
from tests import stacks
from tests.iam.roles import workload_roles

KMS_ARN = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]+$")
#: Resources whose ARNs only exist after `pulumi up`: the matrix names them by kind (access_matrix.KEY_LABELS).
LATE_ARNS = {
    "kms-key": KMS_ARN,
    "iam-role": re.compile(r"^arn:aws:iam::\d{12}:role/.+$"),
    "sqs-queue": re.compile(r"^arn:aws:sqs:[a-z0-9-]+:\d{12}:.+$"),
}


def matrix_for(stack: str, overrides=None) -> dict:
    settings = stacks.settings_for(stack, overrides)
    return access_matrix.build(access_model.build(settings), settings)


def statements(permissions) -> set[tuple]:
    """(effect, action, resource, condition), KMS keys reduced to 'kms-key' (their ARNs only exist after up)."""
    out = set()
    for p in permissions:
        for action in p["actions"] if "actions" in p else p["Action"]:
            for resource in p["resources"] if "resources" in p else p["Resource"]:
                for kind, pattern in LATE_ARNS.items():
                    if resource.startswith(f"{kind}:") or pattern.match(resource):
                        resource = kind
                condition = json.dumps(p.get("condition") or p.get("Condition"), sort_keys=True)
                out.add((p.get("effect") or p.get("Effect"), action, resource, condition))
    return out


def test_matrix_iam_rows_equal_the_recorded_role_policies(plan):
    matrix = matrix_for(plan.stack)
    recorded = workload_roles(plan)
    rows = {r["workload"]: r for r in matrix["workloads"]}
    with_roles = {w for w, r in rows.items() if r["iamRole"]}
    # The matrix covers the access model's workloads; the cluster's add-ons are not in it.
    assert with_roles == {w for w, d in recorded.items() if d.policy and w not in ADDON_ROLES}
    for workload in with_roles:
        docs = recorded[workload]
        assert rows[workload]["iamRole"] == docs.role
        assert statements(rows[workload]["permissions"]) == statements(docs.policy["Statement"]), workload


def test_add_ons_have_aws_managed_policies_and_only_the_ebs_driver_a_key_of_its_own(plan):
    recorded = workload_roles(plan)
    part = stacks.settings_for(plan.stack).partition  # the ARNs are in the stack's partition
    assert {w: recorded[w].managed for w in ADDON_ROLES} == {
        w: (part.managed_policy(policy),) for w, (_, policy) in ADDON_ROLES.items()
    }
    assert recorded["vpc-cni"].policy is None
    ebs = recorded["aws-ebs-csi-driver"].policy["Statement"]
    assert statements(ebs) == statements(json.loads(ebs_csi_key_policy("kms-key:volumes"))["Statement"])


def test_matrix_names_the_kms_keys_the_policies_really_depend_on(plan):
    matrix = matrix_for(plan.stack)
    prefix = f"airflow-mesh-{plan.stack}"
    key_resources = {
        "kms-key:task-logs": f"{prefix}-logs-key",
        "kms-key:airflow-secrets": f"{prefix}-secrets-key",
        "kms-key:task-node-volumes": f"{prefix}-karpenter-aws-volume-key",
    }
    for row in matrix["workloads"]:
        labels = {r for p in row["permissions"] for r in p["resources"] if r.startswith("kms-key:")}
        if not labels:
            continue
        (policy,) = [
            r
            for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
            if r["name"] == row["iamRole"][: -len("-role")] + "-policy"
        ]
        assert {key_resources[label] for label in labels} <= set(policy["dependsOn"]), row["workload"]


def test_matrix_follows_a_person_to_a_role_to_a_service_account_to_iam(plans):
    matrix = matrix_for("prod")
    (risk,) = [r for r in matrix["workloads"] if r["workload"] == "domain-risk"]
    assert risk["oidcGroups"] == ["data-risk"] and risk["airflowRole"] == "risk"
    assert (risk["namespace"], risk["serviceAccount"]) == ("domain-risk", "risk-tasks")
    assert {"to": "airflow-api-server", "port": 8080, "protocol": "tcp", "purpose": "task execution API"} in risk[
        "meshDestinations"
    ]
    assert {"host": "api.ratings.example.com", "port": 443, "purpose": "declared egress of risk"} in risk["egress"]
    assert {"oidcGroup": "data-risk", "airflowRole": "risk"} in matrix["people"]


def test_markdown_lists_every_identity_and_group(plans):
    for stack in plans:
        matrix = matrix_for(stack)
        text = access_matrix.to_markdown(matrix)
        for row in matrix["workloads"]:
            assert f"### {row['workload']}" in text
        for person in matrix["people"]:
            assert f"`{person['oidcGroup']}`" in text
        sections = [line for line in text.splitlines() if line.startswith("## ")]
        assert len(sections) == len(set(sections)), sections  # the enforcement table was printed twice


def test_fifty_domains_plan_and_grow_linearly():
    """Each domain adds the same resources (namespace, identity, mesh permissions, Airflow RBAC...):
    nothing is per pair of domains. Timings are in `make bench`."""
    counts = {}
    for n in (1, 2, 50):
        plan = stacks.run("dev", {"domains": synthetic_domains(n)})
        namespaces = [ns["inputs"]["metadata"]["name"] for ns in plan.of_type("kubernetes:core/v1:Namespace")]
        assert len([ns for ns in namespaces if ns.startswith("domain-")]) == n
        counts[n] = len(plan.resources)
    per_domain = counts[2] - counts[1]
    assert per_domain > 0
    assert counts[50] - counts[1] == 49 * per_domain


def test_matrix_mesh_rows_equal_the_recorded_mesh_permissions(plan):
    """Kuma: one MeshTrafficPermission per allowed (source, destination); read back from the plan."""
    from tests.components.mesh import mesh_plans as mp

    matrix = matrix_for(plan.stack)
    claimed = {
        (r["workload"], d["to"]) for r in matrix["workloads"] for d in r["meshDestinations"] if d["protocol"] == "tcp"
    }
    recorded = mp.kuma_allowed(plan, access_model.build(stacks.settings_for(plan.stack)))
    assert len(recorded) == len(set(recorded))
    assert set(recorded) == claimed


def test_matrix_mesh_rows_equal_istio_authorization_policies_with_ports():
    from tests.components.mesh import mesh_plans as mp

    overrides = {"meshProvider": "istio", "meshAcceptUnenforcedEgress": True}
    matrix = matrix_for("prod", overrides)
    claimed = {
        (r["workload"], d["to"], d["port"])
        for r in matrix["workloads"]
        for d in r["meshDestinations"]
        if d["protocol"] == "tcp"
    }
    plan = stacks.run("prod", overrides)
    assert set(mp.istio_allowed(plan, access_model.build(stacks.settings_for("prod", overrides)))) == claimed


def test_matrix_exits_are_exactly_the_recorded_mesh_passthroughs(plan):
    """Every exit the matrix lists is let out by the workload's MeshPassthrough, and every match a
    MeshPassthrough lets out is in the matrix (the S3 virtual-hosted wildcard stands for its S3 row)."""
    from components.mesh.kuma.exits import DATABASE_HOST
    from tests.components.mesh import mesh_plans as mp

    settings = stacks.settings_for(plan.stack)
    matrix = matrix_for(plan.stack)
    by_selector = mp.workload_by_selector(access_model.build(settings))
    recorded: dict[str, set[tuple[str, int]]] = {}
    for r in mp.mesh_of_type(plan, "kubernetes:kuma.io/v1alpha1:MeshPassthrough"):
        labels = dict(r["inputs"]["spec"]["targetRef"]["labels"])
        namespace = labels.pop("k8s.kuma.io/namespace")
        workload = by_selector[(namespace, tuple(sorted(labels.items())))]
        for m in r["inputs"]["spec"]["default"]["appendMatch"]:
            host = DATABASE_HOST if m["value"] == settings.vpc_cidr else m["value"]
            if host.startswith("*.s3."):
                host = host.removeprefix("*.")
            recorded.setdefault(workload, set()).add((host, m["port"]))
    claimed = {r["workload"]: {(e["host"], e["port"]) for e in r["egress"]} for r in matrix["workloads"] if r["egress"]}
    claimed = {w: exits for w, exits in claimed.items() if matrix_row(matrix, w)["meshed"]}
    assert recorded == claimed


def matrix_row(matrix: dict, workload: str) -> dict:
    (row,) = [r for r in matrix["workloads"] if r["workload"] == workload]
    return row


def test_matrix_execution_api_rows_equal_what_the_api_server_scopes_by(plan):
    """The execution API scope the matrix states per domain is the data the api-server's plugin reads
    (AIRFLOW_MESH_LOCAL_SETTINGS in the recorded Airflow release): DAG prefix and secrets prefix."""
    release = next(r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"].get("chart") == "airflow")
    values = release["inputs"]["values"]
    values = json.loads(values) if isinstance(values, str) else values
    env = next(e for e in values["env"] if e["name"] == "AIRFLOW_MESH_LOCAL_SETTINGS")
    deployed = json.loads(env["value"])["domains"]
    rows = {r["workload"]: r for r in matrix_for(plan.stack)["workloads"]}
    for name, domain in deployed.items():
        api = rows[f"domain-{name}"]["executionApi"]
        assert api["dags"] == [f"{name}_*"]
        assert api["connectionsAndVariables"] == [f"{domain['secrets_prefix']}/*"]
    if deployed:
        worker = rows["airflow-worker"]["executionApi"]
        assert sorted(worker["notDags"]) == sorted(f"{n}_*" for n in deployed)
    assert all(
        r["executionApi"] is None
        for r in rows.values()
        if r["kind"] not in ("domain",) and r["workload"] != "airflow-worker"
    )


def test_every_provider_says_what_it_enforces_and_the_plan_agrees():
    """The matrix's per-provider statement matches what the recorded plan holds: a provider whose egress
    is "not-enforced" records no exit objects; one that enforces egress records one per exit holder."""
    from components import mesh
    from plan.mesh_enforcement import ENFORCEMENT
    from tests.components.mesh import mesh_plans as mp

    assert set(ENFORCEMENT) == set(mesh.PROVIDERS)
    exit_types = {
        "kuma": ("kubernetes:kuma.io/v1alpha1:MeshPassthrough",),
        "istio": (),
        "linkerd": (mp.TLS_ROUTE, mp.HTTP_ROUTE, mp.EGRESS_NETWORK),
        "consul": (mp.SERVICE_DEFAULTS, mp.TERMINATING_GATEWAY),
    }
    for provider in mesh.PROVIDERS:
        matrix = matrix_for("prod", {"meshProvider": provider, **mp.PROVIDER_CONFIG.get(provider, {})})
        stated = matrix["meshEnforcement"]
        assert stated == ENFORCEMENT[provider] and all(stated.values())
        assert f"## What the mesh ({provider}) enforces" in access_matrix.to_markdown(matrix)
        plan = mp.plan_for("prod", provider)
        exits = [r for t in exit_types[provider] for r in mp.mesh_of_type(plan, t)]
        assert bool(exits) is (stated["egressLevel"] != "not-enforced"), provider
