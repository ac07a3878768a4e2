"""Namespaces: every namespace whose pods join the mesh, labelled for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class NamespacesArgs:
    """Inputs of :class:`Namespaces`."""

    #: Namespace names (the access model's meshed namespaces).
    names: Sequence[str]
    #: Labels that enrol a namespace in the mesh (and its Pod Security level), from the mesh module.
    labels: Mapping[str, str]
    #: Labels merged last for one namespace (the collector's needs Pod Security ``privileged``).
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Annotations that enrol a namespace (Linkerd injects by annotation), from the mesh module.
    annotations: Mapping[str, str] = field(default_factory=dict)


class Namespaces(pulumi.ComponentResource):
    """One labelled Namespace per meshed namespace of the access model.

    Outputs: ``by_name`` (name -> ``k8s.core.v1.Namespace``).
    """

    def __init__(self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:mesh:Namespaces", name, None, opts)
        self.by_name: dict[str, k8s.core.v1.Namespace] = {
            ns: k8s.core.v1.Namespace(
                f"{name}-{ns}",
                metadata={
                    "name": ns,
                    "labels": {
                        "app.kubernetes.io/part-of": "airflow-mesh",
                        **args.labels,
                        **args.overrides.get(ns, {}),
                    },
                    **({"annotations": dict(args.annotations)} if args.annotations else {}),
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
            for ns in args.names
        }
        self.register_outputs({})
