"""The resources every mesh provider builds the same way: its system namespace, its Helm releases and its
policy objects. One place, so the four providers cannot drift apart in how they create them (atomic
releases, no Helm-made namespaces, policies that wait for their namespace, labels).

Pure builders around ``pulumi_kubernetes``; each takes the Pulumi name and options the provider decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.mesh.policy import PART_OF, Manifest


def child_options(parent: pulumi.Resource) -> Callable[..., pulumi.ResourceOptions]:
    """``child(*deps)``: options of a child of ``parent`` that waits for ``deps``."""

    def child(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, depends_on=list(deps))

    return child


def system_namespace(
    name: str,
    namespace: str,
    opts: pulumi.ResourceOptions,
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    """A namespace the provider creates itself (not Helm's ``create_namespace``), so what must exist
    before its control plane starts (CA Secrets, issuers) can be created in it first. ``labels`` are
    added to :data:`PART_OF`."""
    metadata: dict[str, Any] = {"name": namespace, "labels": {**PART_OF, **(labels or {})}}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return k8s.core.v1.Namespace(name, metadata=metadata, opts=opts)


def chart_release(
    name: str,
    *,
    release: str,
    chart: str,
    version: str,
    repo: str,
    namespace: str,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    timeout: int = 600,
) -> k8s.helm.v3.Release:
    """One pinned chart as an atomic ``helm.v3.Release`` in an existing namespace (Helm hooks run;
    a failed install or upgrade rolls back); ``timeout`` in seconds."""
    return k8s.helm.v3.Release(
        name,
        k8s.helm.v3.ReleaseArgs(
            name=release,
            chart=chart,
            version=version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo),
            namespace=namespace,
            create_namespace=False,
            atomic=True,
            timeout=timeout,
            values=dict(values),
        ),
        opts=opts,
    )


def namespace_of(namespaces: Mapping[str, k8s.core.v1.Namespace], namespace: str | None) -> list[pulumi.Resource]:
    """The meshed namespace resource a namespaced policy must wait for (none for the system namespace,
    which the provider's own resources already wait for)."""
    found = namespaces.get(namespace) if namespace else None
    return [found] if found is not None else []


def policy_object(
    name: str,
    *,
    api_version: str,
    kind: str,
    metadata_name: str,
    namespace: str | None,
    spec: Mapping[str, Any],
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    namespaces: Mapping[str, k8s.core.v1.Namespace] | None = None,
) -> k8s.apiextensions.CustomResource:
    """One mesh policy (a custom resource); it waits for its meshed namespace when ``namespaces`` has it."""
    metadata: dict[str, Any] = {"name": metadata_name, "labels": dict(labels)}
    if namespace is not None:
        metadata["namespace"] = namespace
    waits = namespace_of(namespaces or {}, namespace)
    if waits:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=waits))
    return k8s.apiextensions.CustomResource(
        name, api_version=api_version, kind=kind, metadata=metadata, spec=dict(spec), opts=opts
    )


def manifest_object(
    name: str,
    m: Manifest,
    opts: pulumi.ResourceOptions,
    namespaces: Mapping[str, k8s.core.v1.Namespace] | None = None,
) -> k8s.apiextensions.CustomResource:
    """A provider's :class:`Manifest` as its custom resource, named ``<name>-<m.resource>`` (``*`` spelled
    ``wildcard``: Pulumi names are URNs)."""
    return policy_object(
        f"{name}-{m.resource.replace('*', 'wildcard')}",
        api_version=m.api_version,
        kind=m.kind,
        metadata_name=m.name,
        namespace=m.namespace,
        spec=m.spec,
        labels=m.labels,
        opts=opts,
        namespaces=namespaces,
    )
