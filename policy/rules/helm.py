"""Helm releases: pinned chart versions, atomic installs, and no secrets in values.

Secrets reach charts through Kubernetes Secrets the chart references (``existingSecret``,
``*SecretName``, ``valueFrom.secretKeyRef``), never through values: Helm stores values in the
release Secret and in Pulumi state, and CrossGuard itself sees them unencrypted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .model import SECRET, UNKNOWN, Resource, Rule, Stack, known, truthy

RELEASE = ("kubernetes:helm.sh/v3:Release",)
CHARTS = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")

_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$")

#: Keys whose value *is* the secret in the charts this platform installs (Airflow, oauth2-proxy).
_VALUE_KEYS = {
    "fernetkey",
    "webserversecretkey",
    "apisecretkey",
    "jwtsecret",
    "pass",
    "password",
    "clientsecret",
    "cookiesecret",
}
#: Keys that name or point at a secret rather than hold one.
_REFERENCE = re.compile(
    r"(name|names|ref|existingsecret|file|path|enabled|annotations|envname|secretkey|secretkeys|length|type)$"
)
_GENERIC = re.compile(r"(password|passwd|secret|token|apikey|privatekey|sshkey|accesskey|credentials?)$")
_SECRET_ENV = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|FERNET_?KEY|ACCESS_?KEY|CREDENTIALS?)")
#: Airflow's own indirections: ``AIRFLOW__X__Y_CMD`` / ``_SECRET`` name a command or a backend key.
_AIRFLOW_INDIRECTION = re.compile(r"^AIRFLOW__.*_(CMD|SECRET)$")
_OBJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_HEX = re.compile(r"^[0-9a-f]{16,}$")

#: Credentials recognisable by their shape, wherever they appear.
_PATTERNS = {
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a PEM private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "a JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"),
    "a URL with a password": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
}


def _normalise(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def secret_key(key: str) -> str | None:
    """'value' when the key holds a secret, 'maybe' when it holds a secret or a Secret's name, else None."""
    k = _normalise(key)
    if k in _VALUE_KEYS:
        return "value"
    if _REFERENCE.search(k):
        return None
    if _GENERIC.search(k):
        return "maybe" if k.endswith("secret") else "value"
    return None


def _env_entry(node: Mapping[str, Any]) -> bool:
    """A container env entry (``{name: X, value: ...}``) that carries a secret literally."""
    name = node.get("name")
    return (
        isinstance(name, str)
        and "value" in node
        and bool(_SECRET_ENV.search(name.upper()))
        and not _AIRFLOW_INDIRECTION.match(name)
        and isinstance(node["value"], str)
        and node["value"] != ""
    )


def plaintext_secrets(values: Any, path: str = "values") -> Iterator[str]:
    """Every place in ``values`` that holds a secret, as ``path: why``."""
    if isinstance(values, Mapping):
        if _env_entry(values):
            yield f"{path}: env var {values['name']} has a literal value; use valueFrom.secretKeyRef"
        for key, value in values.items():
            here = f"{path}.{key}"
            kind = secret_key(str(key))
            if kind and isinstance(value, str) and value != "":
                if value == SECRET:
                    yield f"{here}: a Pulumi secret is passed in the values; reference a Kubernetes Secret instead"
                elif value == UNKNOWN:
                    yield f"{here}: a computed value under a secret's key; reference a Kubernetes Secret instead"
                elif not (kind == "maybe" and _OBJECT_NAME.match(value) and not _HEX.match(value)):
                    yield f"{here}: plain-text secret"
                continue
            yield from plaintext_secrets(value, here)
    elif isinstance(values, list):
        for i, item in enumerate(values):
            yield from plaintext_secrets(item, f"{path}[{i}]")
    elif isinstance(values, str):
        for what, pattern in _PATTERNS.items():
            if pattern.search(values):
                yield f"{path}: contains {what}"


def check_values(r: Resource, _stack: Stack) -> Iterator[str]:
    values = r.get("values")
    if values == SECRET:
        yield "the whole of values is a Pulumi secret, so a secret is in it; reference Kubernetes Secrets instead"
        return
    yield from plaintext_secrets(values)


def check_version(r: Resource, _stack: Stack) -> Iterator[str]:
    chart = r.get("chart")
    if not known(chart) or not isinstance(chart, str) or chart.startswith(("./", "../", "/")):
        return  # a chart in this repository is pinned by the commit
    version = r.get("version")
    if not known(version):
        return
    if not (isinstance(version, str) and _SEMVER.match(version)):
        yield f"chart {chart!r} is not pinned to an exact version (version={version!r})"
    repo = r.get("repositoryOpts.repo")
    if isinstance(repo, str) and repo.startswith("http://"):
        yield f"chart repository {repo} is plain HTTP"


def check_atomic(r: Resource, _stack: Stack) -> Iterator[str]:
    if not truthy(r.get("atomic")):
        yield "release is not atomic: a failed install or upgrade must roll back, not leave a half-applied chart"
    timeout = r.get("timeout")
    if known(timeout) and not (isinstance(timeout, (int, float)) and timeout > 0):
        yield "release has no explicit timeout"


RULES = [
    Rule(
        name="helm-values-no-plaintext-secrets",
        description="Helm values hold no secrets: no secret-named key with a literal or Pulumi-secret value, no env "
        "var with a literal secret, no credential-shaped string.",
        check=check_values,
        types=RELEASE,
        remediation="Create a Kubernetes Secret and point the chart at it (existingSecret, *SecretName, secretKeyRef).",
    ),
    Rule(
        name="helm-chart-version-pinned",
        description="Every chart is pinned to an exact version (from components/versions.py) over HTTPS.",
        check=check_version,
        types=CHARTS,
    ),
    Rule(
        name="helm-release-atomic",
        description="Every Helm release is atomic and has an explicit timeout.",
        check=check_atomic,
        types=RELEASE,
    ),
]
