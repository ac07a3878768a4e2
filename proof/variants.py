"""The planned stacks and variants the proof renders and checks.

Every stack in stacks/ as it is, plus the configurations the tests plan elsewhere (grep
``harness.run(`` under tests/): the other mesh provider, EKS Pod Identity, the Celery executor,
Redis session storage, mesh CA rotation and OTel, the builtin CA in permissive mode, and DAGs from
an SSH git repository. Each variant turns on chart features the plain stacks leave off (a Redis
StatefulSet, git-sync over SSH, Istio's four charts...), which is what rendering is for.
"""

from __future__ import annotations

from typing import Any

from plan import harness

SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-proof-only\n-----END OPENSSH PRIVATE KEY-----"
KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

#: The dev domains declare egress allow-lists, which Istio ambient does not enforce: an Istio variant
#: must accept that (components/settings rules) or the stack refuses to plan.
ISTIO = {"meshProvider": "istio", "meshAcceptUnenforcedEgress": True}

#: variant id -> (stack, config overrides); ids are folder-safe.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev-istio": ("dev", ISTIO),
    "dev-linkerd": ("dev", {"meshProvider": "linkerd"}),
    "dev-consul": ("dev", {"meshProvider": "consul"}),
    "prod-consul": ("prod", {"meshProvider": "consul"}),
    "dev-pod-identity": ("dev", {"identityMode": "pod-identity"}),
    "staging-celery": ("staging", {"airflowExecutor": "CeleryExecutor", "domains": None}),
    "prod-redis-sessions": ("prod", {"oauth2ProxySessionStore": "redis"}),
    "dev-kuma-otel-ca-rotation": (
        "dev",
        {"otelEndpoint": "otlp.observability.example.com:443", "meshCaName": "ca-2", "meshPreviousCaName": "ca-1"},
    ),
    "dev-istio-builtin-ca-permissive": (
        "dev",
        {**ISTIO, "meshCaSource": "builtin", "meshTlsMode": "permissive"},
    ),
    "dev-istio-ssh-git": (
        "dev",
        {
            **ISTIO,
            "dagsGitRepository": "git@github.com:example-org/airflow-dags.git",
            "dagsGitSshKey": harness.Secure(SSH_KEY),
            "dagsGitKnownHosts": KNOWN_HOSTS,
        },
    ),
}


def all_ids() -> list[str]:
    """Stacks first (dev, prod, staging), then the variants."""
    return [*harness.stack_names(), *VARIANTS]


def plan_of(variant: str) -> harness.Plan:
    """Run the harness for a stack name or a variant id."""
    stack, overrides = VARIANTS.get(variant, (variant, {}))
    return harness.run(stack, overrides)
