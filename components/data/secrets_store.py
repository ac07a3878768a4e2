"""SecretsStore: the KMS key behind Airflow's Secrets Manager backend."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.kms import customer_key


@dataclass(frozen=True)
class SecretsStoreArgs:
    """Inputs of :class:`SecretsStore`."""

    #: ``airflow/<stack>``: connections live below ``<prefix>/connections``, variables below ``<prefix>/variables``.
    prefix: str
    #: Prod: protect the key and retain it on destroy (secrets encrypted with it would be lost otherwise).
    protect: bool


class SecretsStore(pulumi.ComponentResource):
    """A customer-managed KMS key (rotated yearly) that teams use for secrets under the stack's prefix.

    Workload roles may decrypt with it only through Secrets Manager (``kms:ViaService``), and only
    for the prefixes the access model grants them.

    Outputs: ``key_arn``, ``prefix``.
    """

    def __init__(self, name: str, args: SecretsStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:airflow:SecretsStore", name, None, opts)
        key = customer_key(
            f"{name}-key",
            f"Airflow connections and variables under {args.prefix}/",
            alias=f"{args.prefix.replace('/', '-')}-secrets",
            protect=args.protect,
            parent=self,
        )
        self.key_arn = key.arn
        self.prefix = args.prefix
        self.register_outputs({"key_arn": self.key_arn})
