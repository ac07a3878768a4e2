"""Each wiring, mesh and Pod Security check fails on a deliberately broken input."""

from __future__ import annotations

import base64

import pytest

from components.mesh.kuma import component as kuma
from proof import mesh, ownership, pod_security, reviewed, wiring
from proof.injection import InjectionError
from proof.objects import KubeObject
from tests.proof.broken import RESTRICTED_CONTAINER, deployment, namespace, object_set

KUMA_NS = {"kuma.io/sidecar-injection": "enabled", "pod-security.kubernetes.io/enforce": "baseline"}


def _container(**extra):
    return {"name": "main", "image": "example/app:1.0", **RESTRICTED_CONTAINER, **extra}


def test_a_file_mount_inside_a_configmap_directory_mount_is_found():
    """The scheduler defect class (k8s#61545): subPath file under a ConfigMap directory mount."""
    mounts = [
        {"name": "templates", "mountPath": "/opt/t"},
        {"name": "config", "mountPath": "/opt/t/pod.yaml", "subPath": "pod.yaml"},
    ]
    volumes = [{"name": "templates", "configMap": {"name": "a"}}, {"name": "config", "configMap": {"name": "b"}}]
    bad = deployment("s", containers=[_container(volumeMounts=mounts)], volumes=volumes)
    assert [f.check for f in wiring.mount_collisions(object_set(bad))] == ["mounts"]
    mounts[1]["mountPath"] = "/opt/config/pod.yaml"  # siblings are fine
    assert (
        wiring.mount_collisions(
            object_set(deployment("s", containers=[_container(volumeMounts=mounts)], volumes=volumes))
        )
        == []
    )


def test_a_claim_without_a_class_the_stack_creates_is_found():
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "d", "namespace": "a"}, "spec": {}}
    assert "no storageClassName" in wiring.storage_classes(object_set(pvc))[0].message
    pvc["spec"]["storageClassName"] = "gp2"  # exists on EKS but only as a non-default the stack did not create
    assert "not created by the stack" in wiring.storage_classes(object_set(pvc))[0].message
    gp3 = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp2"},
        "provisioner": "ebs.csi.aws.com",
    }
    assert wiring.storage_classes(object_set(pvc, gp3)) == []


def test_missing_secret_key_configmap_account_and_port_are_found():
    env = [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope"}}},
        {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}},
        {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k", "optional": True}}},
    ]
    pod = deployment("w", containers=[_container(env=env)], serviceAccountName="ghost")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "apps"},
        "data": {"key": ""},
    }
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "apps"},
        "spec": {"selector": {"app": "w"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    found = [f.message for f in wiring.references(object_set(namespace("apps"), pod, secret, svc))]
    assert any("ServiceAccount apps/ghost missing" in m for m in found)
    assert any("has no key nope" in m for m in found)
    assert any("ConfigMap apps/absent does not exist" in m for m in found)
    assert any("targetPort 'http'" in m for m in found)
    assert len(found) == 4, found


def test_an_object_in_a_namespace_nobody_creates_is_found():
    assert "never created" in wiring.references(object_set(deployment("w", ns="nowhere")))[0].message


def test_a_value_nobody_set_is_found():
    nil = base64.b64encode(b"%!s(<nil>)").decode()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "b", "namespace": "a"},
        "data": {"connection": nil},
    }
    assert [f.check for f in wiring.unset_values(object_set(secret))] == ["unset"]


def test_a_pod_left_out_of_the_mesh_needs_a_reviewed_reason():
    pod = deployment("job", ns="edge", labels={"app": "job", "kuma.io/sidecar-injection": "disabled"})
    objects = object_set(namespace("edge", **KUMA_NS), pod)
    assert [f.check for f in mesh.enrollment(objects, exclusions=())] == ["mesh"]
    assert mesh.enrollment(objects, exclusions=({"pod": "Deployment edge/job", "reason": "test"},)) == []


def _kuma_mtp(labels, spiffe):
    return {
        "apiVersion": "kuma.io/v1alpha1",
        "kind": "MeshTrafficPermission",
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": {
            "targetRef": {"kind": "Dataplane", "labels": labels},
            "rules": [{"default": {"allow": [{"spiffeID": {"type": "Exact", "value": spiffe}}]}}],
        },
    }


def test_a_kuma_permission_that_selects_nothing_is_found():
    ns = namespace("apps", **KUMA_NS)
    api = deployment("api", serviceAccountName="api")
    good = _kuma_mtp({"app": "api"}, "spiffe://td/ns/apps/sa/api")
    assert mesh.policy_targets(object_set(ns, api, good)) == []
    bad = _kuma_mtp({"app": "typo"}, "spiffe://td/ns/apps/sa/nobody")
    found = [f.message for f in mesh.policy_targets(object_set(ns, api, bad))]
    assert any("matches no enrolled pod" in m for m in found) and any("no enrolled pod holds" in m for m in found)


def test_an_istio_policy_on_a_port_no_selected_pod_has_is_found():
    ns = namespace("apps", **{"istio.io/dataplane-mode": "ambient"})
    api = deployment("api", containers=[_container(ports=[{"containerPort": 8080}])], serviceAccountName="api")
    policy = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": {
            "selector": {"matchLabels": {"app": "api"}},
            "rules": [
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/apps/sa/api"]}}],
                    "to": [{"operation": {"ports": ["8080"]}}],
                }
            ],
        },
    }
    assert mesh.policy_targets(object_set(ns, api, policy)) == []
    policy["spec"]["rules"][0]["to"][0]["operation"]["ports"] = ["9090"]
    assert "port 9090" in mesh.policy_targets(object_set(ns, api, policy))[0].message


def test_a_pod_its_namespace_rejects_is_found_and_cannot_be_excused():
    privileged = deployment("p", containers=[{"name": "c", "image": "x", "securityContext": {"privileged": True}}])
    objects = object_set(namespace("apps", **{"pod-security.kubernetes.io/enforce": "baseline"}), privileged)
    assert [f.check for f in pod_security.admission(objects)] == ["admission"]


def test_a_pod_below_restricted_needs_a_reviewed_reason():
    loose = deployment("l", containers=[{"name": "c", "image": "x"}])
    objects = object_set(namespace("apps"), loose)
    checks = {f.message.split(":")[0] for f in pod_security.restricted_findings(objects, exceptions=())}
    assert checks == {"allow-privilege-escalation", "run-as-non-root", "seccomp", "capabilities-restricted"}
    excuse = {"pod": "Deployment apps/l", "checks": sorted(checks), "reason": "test"}
    assert pod_security.restricted_findings(objects, exceptions=(excuse,)) == []
    assert pod_security.restricted_findings(object_set(namespace("apps"), deployment("ok")), exceptions=()) == []


def test_run_time_objects_exist_only_where_their_creator_does():
    entry = {
        "created_by": "Job */cert-generator",
        "object": {"kind": "Secret", "namespace": "{namespace}", "name": "server-tls", "keys": ["tls.crt"]},
        "source": "test",
    }
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "cert-generator", "namespace": "edge"}}
    made = reviewed.runtime_objects(object_set(job), (entry,))
    assert [(o.kind, o.namespace, o.name) for o in made] == [("Secret", "edge", "server-tls")]
    assert reviewed.runtime_objects(object_set(), (entry,)) == []


def test_a_disruption_budget_that_selects_no_pod_is_found():
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "b", "namespace": "apps"},
        "spec": {"selector": {"matchLabels": {"app": "typo"}}, "maxUnavailable": 1},
    }
    found = wiring.references(object_set(namespace("apps"), deployment("web"), pdb))
    assert [f.message for f in found] == ["selector {'matchLabels': {'app': 'typo'}} matches no pod"]


def test_kumas_injected_containers_need_the_pods_seccomp_and_non_root():
    """A pod whose own container meets restricted is still rejected in a Kuma namespace enforcing
    restricted when the pod carries no seccomp/runAsNonRoot for the containers Kuma injects."""
    ns = namespace("apps", **{**KUMA_NS, "pod-security.kubernetes.io/enforce": "restricted"})
    mesh_object = {"apiVersion": "kuma.io/v1alpha1", "kind": "Mesh", "metadata": {"name": "default"}}
    objects = object_set(ns, mesh_object, deployment("web"))
    rejected = {f.message.split(": ", 1)[1] for f in pod_security.admission(objects)}
    assert rejected == {
        "run-as-non-root (kuma-validation)",
        "run-as-non-root (kuma-sidecar)",
        "seccomp (kuma-validation: unset)",
        "seccomp (kuma-sidecar: unset)",
    }
    pod_level = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    fixed = object_set(ns, mesh_object, deployment("web", securityContext=pod_level))
    assert pod_security.admission(fixed) == []


def test_kumas_container_patch_gives_the_injected_containers_what_the_pod_lacks():
    """kuma-cp's default ContainerPatch (components/mesh/kuma) stands in for the pod's context; a patch
    it names that the set does not create fails the injection, as kuma-cp would."""
    ns = namespace("apps", **{**KUMA_NS, "pod-security.kubernetes.io/enforce": "restricted"})
    mesh_object = {"apiVersion": "kuma.io/v1alpha1", "kind": "Mesh", "metadata": {"name": "default"}}
    env = [{"name": "KUMA_RUNTIME_KUBERNETES_INJECTOR_CONTAINER_PATCHES", "value": kuma.CONTAINER_PATCH}]
    control_plane = deployment("kuma-control-plane", ns="kuma-system", containers=[_container(env=env)])
    patch = {
        "apiVersion": "kuma.io/v1alpha1",
        "kind": "ContainerPatch",
        "metadata": {"name": kuma.CONTAINER_PATCH, "namespace": "kuma-system"},
        "spec": kuma.container_patch_spec(),
    }
    assert pod_security.admission(object_set(ns, mesh_object, control_plane, patch, deployment("web"))) == []
    with pytest.raises(InjectionError, match="does not create"):
        pod_security.admission(object_set(ns, mesh_object, control_plane, deployment("web")))


def test_an_object_two_installers_create_is_found():
    """The Consul chart's own Gateway API CRDs beside the stack's release manifest (the defect found)."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gateways.gateway.networking.k8s.io"},
    }
    found = object_set(crd, deployment("api"))
    assert ownership.owned_once(found) == []
    found.objects.append(KubeObject(body=dict(crd), origin="consul-release", source="consul/templates/crd.yaml"))
    # a pod read from a ConfigMap value is no second installer of anything
    found.objects.append(KubeObject(body=deployment("api"), origin="test", source="configmap ConfigMap a/b[pod]"))
    (finding,) = ownership.owned_once(found)
    assert str(finding) == (
        "[owners] CustomResourceDefinition gateways.gateway.networking.k8s.io: installed 2 times: "
        "by consul-release (consul/templates/crd.yaml), test (emitted)"
    )
