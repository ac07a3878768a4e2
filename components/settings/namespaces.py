"""Config keys outside this project's namespace: which namespaces are read at all, and typo hints.

The Pulumi CLI passes every key of the stack file to the program and never complains about a key
nobody reads (pulumi/pulumi ``sdk/go/common/resource/config/key.go``: any ``<namespace>:<name>``
parses). So ``airflowmesh:meshProvider`` or ``airflow_mesh:natGateways`` would be silently ignored
and the stack would deploy its defaults. Here a key is accepted only in a namespace something reads:
this project, the engine (``pulumi:``) or a provider the program uses; ``aws:`` keys are checked
against the names pulumi-aws reads (its SDK's ``config/vars.py``).
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from functools import cache
from pathlib import Path

from components.settings.model import PROJECT

#: Namespace of each provider package in requirements.txt (its ``pulumi.Config(...)`` name), and
#: the engine's own. A test keeps this list and the imported providers equal.
PROVIDER_NAMESPACES = {
    "pulumi_aws": "aws",
    "pulumi_kubernetes": "kubernetes",
    "pulumi_random": "random",
    "pulumi_command": "command",
    "pulumi_tls": "tls",
    "pulumiverse_time": "time",
}
KNOWN_NAMESPACES = (PROJECT, "pulumi", *PROVIDER_NAMESPACES.values())


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def looks_like_project(namespace: str) -> bool:
    """``airflowmesh``, ``airflow_mesh``, ``Airflow-Mesh``, ``airflow-mseh``: meant to be ours."""
    if _squash(namespace) == _squash(PROJECT):
        return True
    return difflib.SequenceMatcher(None, namespace.lower(), PROJECT).ratio() >= 0.8


@cache
def aws_keys() -> frozenset[str]:
    """Config names pulumi-aws reads (``aws:region``...), from the installed SDK's ``config/vars.py``."""
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    source = (Path(next(iter(spec.submodule_search_locations))) / "config" / "vars.py").read_text()
    return frozenset(re.findall(r"__config__\.get\w*\('(\w+)'\)", source))


def _hint(name: str, candidates: list[str]) -> str:
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean {found[0]}?)" if found else ""


def foreign_key_problem(key: str, project_keys: list[str]) -> str | None:
    """Why ``key`` (``namespace:name``, not this project's namespace) would be ignored, or None."""
    namespace, _, name = key.partition(":")
    if looks_like_project(namespace):
        target = name if name in project_keys else (difflib.get_close_matches(name, project_keys, n=1) or [name])[0]
        return (
            f"namespace {namespace!r} is not this project's, so nothing reads this key "
            f"(did you mean {PROJECT}:{target}?)"
        )
    if namespace not in KNOWN_NAMESPACES:
        return f"nothing reads namespace {namespace!r} (read here: {', '.join(KNOWN_NAMESPACES)})" + _hint(
            namespace, list(KNOWN_NAMESPACES)
        ).replace("?)", f":{name}?)")
    if namespace == "aws" and aws_keys() and name not in aws_keys():
        return f"pulumi-aws reads no key {name!r}" + _hint(name, sorted(aws_keys())).replace("mean ", "mean aws:")
    return None
