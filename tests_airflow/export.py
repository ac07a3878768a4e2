"""Export what the program generates for Airflow into a bundle that ``tests_airflow/`` checks with Airflow.

Runs in the project's main environment (``.venv``: Pulumi, no Airflow); the checks run in
``.venv-airflow`` (Airflow 3.1.7, no Pulumi) and read only the bundle, so the two never share a
process. Everything comes from the recorded plan (``plan.harness.run``), i.e. from the
``kubernetes:helm.sh/v3:Release`` of the Airflow chart (``inputs.values``) and the pod-templates
ConfigMap the scheduler mounts, not from the functions that build them: the checks keep working
whatever module generates the text.

Layout of ``OUT`` (one folder per variant, named ``<stack>`` or ``<stack>-<variant>``)::

    index.json                 {"variants": {name: {"stack", "overrides", "same_as"}}}
    <variant>/values.json      the release's inputs.values, as recorded
    <variant>/config.json      values.config: {section: {key: str}}
    <variant>/airflow.cfg      the same sections, as the chart writes them into its ConfigMap
    <variant>/webserver_config.py        values.apiServer.apiServerConfig
    <variant>/airflow_local_settings.py  values.airflowLocalSettings
    <variant>/pod_template_file.yaml     values.podTemplate (KubernetesExecutor only)
    <variant>/pod_templates/<file>       data of the ConfigMap mounted into the scheduler
    <variant>/plugins/<file>             api-server ConfigMap keys mounted into its plugins folder
    <variant>/config/<file>              api-server ConfigMap keys mounted into $AIRFLOW_HOME/config
                                         (the auth manager module, on sys.path)
    <variant>/meta.json        stack facts the checks compare against (from the stack's settings)
    <variant>/log_grants.json  {IAM RolePolicy name: [S3 object ARN patterns it may PutObject]} on
                               the task-log bucket, to hold against the log keys Airflow renders
    chart_config.json          the chart's own ``config`` defaults that are literals (no ``{{ }}``),
                               which Helm merges under ``values.config`` (configmaps/configmap.yaml)

Usage: ``python -m tests_airflow.export OUT`` (exit 0; raises if the plan has no Airflow release).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from components.airflow.secrets import async_metadata_connection, metadata_connection
from plan import harness

RELEASE = "kubernetes:helm.sh/v3:Release"
CHART = "charts/airflow-1.19.0/values.yaml"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

#: The fixture stacks the tests own (tests/stacks/): the examples in stacks/ are a team's to change,
#: and what Airflow is held to must not move when they do.
STACKS_DIR = harness.ROOT / "tests" / "stacks"

#: Password of the sample metadata URLs in meta.json: characters a URL must quote.
SAMPLE_PASSWORD = "p@ss/w:rd%"

#: Variants that other tests plan and that change the Airflow values (or might): name -> (stack, overrides).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    # Istio ambient does not enforce the stacks' domain egress allow-lists: the settings want the opt-in.
    "dev-istio": ("dev", {"meshProvider": "istio", "meshAcceptUnenforcedEgress": True}),
    "dev-pod-identity": ("dev", {"identityMode": "pod-identity"}),
    "staging-celery": ("staging", {"airflowExecutor": "CeleryExecutor", "domains": None}),
    "prod-pod-identity": ("prod", {"identityMode": "pod-identity"}),
}

#: Bundle files whose content decides whether two variants are the same for Airflow.
_AIRFLOW_FILES = ("values.json", "pod_templates", "plugins", "config")
#: Where the api-server's ConfigMap files go in the bundle, by the folder they are mounted into.
_MOUNT_FOLDERS = {"/opt/airflow/plugins": "plugins", "/opt/airflow/config": "config"}


def airflow_release(plan: harness.Plan) -> dict[str, Any]:
    """The recorded inputs of the Airflow chart's Release (``values`` decoded if recorded as JSON)."""
    found = [r for r in plan.of_type(RELEASE) if r["inputs"].get("chart") == "airflow"]
    if len(found) != 1:
        raise LookupError(f"{plan.stack}: expected one Airflow Release, found {[r['name'] for r in found]}")
    inputs = dict(found[0]["inputs"])
    if isinstance(inputs.get("values"), str):
        inputs["values"] = json.loads(inputs["values"])
    return inputs


def pod_template_files(plan: harness.Plan, values: dict[str, Any], section: str = "scheduler") -> dict[str, str]:
    """Data of the ConfigMap(s) a component mounts (``<section>.extraVolumes[].configMap``), by key:
    the scheduler's pod templates, the api-server's plugins."""
    names = {v["configMap"]["name"] for v in values.get(section, {}).get("extraVolumes", []) if "configMap" in v}
    out: dict[str, str] = {}
    for record in plan.of_type(CONFIG_MAP):
        meta = record["inputs"].get("metadata") or {}
        if meta.get("name") in names and meta.get("namespace", "airflow") == "airflow":
            out.update(record["inputs"].get("data") or {})
    return out


def api_server_files(plan: harness.Plan, values: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The api-server's mounted ConfigMap keys by bundle folder (``plugins``, ``config``), placed where
    its ``extraVolumeMounts`` put them (a key mounted as a whole folder counts as a plugin)."""
    data = pod_template_files(plan, values, "apiServer")
    placed = {
        m["subPath"]: _MOUNT_FOLDERS.get(m["mountPath"].rsplit("/", 1)[0], "plugins")
        for m in values.get("apiServer", {}).get("extraVolumeMounts", [])
        if m.get("subPath")
    }
    out: dict[str, dict[str, str]] = {"plugins": {}, "config": {}}
    for name, text in data.items():
        out[placed.get(name, "plugins")][name] = text
    return out


def log_grants(plan: harness.Plan, values: dict[str, Any]) -> dict[str, list[str]]:
    """Object ARN patterns each recorded IAM role policy may write (s3:PutObject) in the log bucket."""
    folder = values.get("config", {}).get("logging", {}).get("remote_base_log_folder", "")
    bucket = folder.removeprefix("s3://").split("/", 1)[0]
    out: dict[str, list[str]] = {}
    for record in plan.of_type(ROLE_POLICY):
        policy = record["inputs"].get("policy")
        if not bucket or not isinstance(policy, str) or policy.startswith("["):
            continue
        for statement in json.loads(policy).get("Statement", []):
            actions = statement.get("Action", [])
            resources = statement.get("Resource", [])
            actions = [actions] if isinstance(actions, str) else actions
            resources = [resources] if isinstance(resources, str) else resources
            if statement.get("Effect") == "Allow" and "s3:PutObject" in actions:
                mine = [r for r in resources if r.startswith(f"arn:aws:s3:::{bucket}/")]
                if mine:
                    out.setdefault(record["name"], []).extend(mine)
    return out


def chart_config(upstream: Path) -> dict[str, dict[str, str]]:
    """The chart's default ``config`` (values.yaml), literal values only: templated ones (``{{ }}``)
    depend on other values and are set by the checks themselves where they matter."""
    config = yaml.safe_load((upstream / CHART).read_text())["config"]
    return {
        section: {k: str(v) for k, v in options.items() if "{{" not in str(v)} for section, options in config.items()
    }


def upstream_dir() -> Path:
    """$AIRFLOW_MESH_UPSTREAM_DIR, else ../shared/upstream beside the repository (as tests/conftest.py)."""
    folder = Path(os.environ.get("AIRFLOW_MESH_UPSTREAM_DIR") or harness.ROOT.parent / "shared" / "upstream")
    if not (folder / CHART).is_file():
        raise FileNotFoundError(f"{folder / CHART} not found: set AIRFLOW_MESH_UPSTREAM_DIR")
    return folder


def cfg_text(config: dict[str, dict[str, Any]]) -> str:
    """``airflow.cfg`` as the chart's ``configmaps/configmap.yaml`` writes it: ``[section]`` then
    ``key = value`` (Helm ranges over sorted keys)."""
    lines: list[str] = []
    for section in sorted(config):
        lines.append(f"[{section}]")
        lines += [f"{key} = {config[section][key]}" for key in sorted(config[section])]
        lines.append("")
    return "\n".join(lines)


def meta(stack: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """What the stack's settings say the generated code must do (domains, group -> role mapping)."""
    settings = harness.settings_for(stack, overrides, stacks_dir=STACKS_DIR)
    return {
        "stack": stack,
        "overrides": overrides,
        "executor": settings.airflow_executor,
        "groups_claim": settings.oidc_groups_claim,
        "oidc_issuer_url": settings.oidc_issuer_url,
        "airflow_hostname": settings.airflow_hostname,
        "role_mappings": [list(p) for p in settings.role_mappings],
        "machine_mappings": [list(p) for p in settings.machine_mappings],
        "machine_audiences": list(settings.machine_token_audiences),
        "machine_issuer": settings.machine_issuer_url if settings.machine_role_mappings else "",
        "domains": [
            {"name": d.name, "oidc_groups": list(d.oidc_groups), "airflow_role": d.airflow_role}
            for d in settings.domains
        ],
        # The metadata Secret's two URLs, from the functions that fill it (the plan records the Secret
        # only as "[secret]"), with a password that needs quoting.
        "metadata_connections": {
            "sync": metadata_connection("airflow", SAMPLE_PASSWORD),
            "async": async_metadata_connection("airflow", SAMPLE_PASSWORD),
        },
    }


def write_variant(out: Path, stack: str, overrides: dict[str, Any]) -> None:
    """Plan ``stack`` with ``overrides`` and write its bundle folder ``out``."""
    plan = harness.run(stack, overrides, stacks_dir=STACKS_DIR)
    release = airflow_release(plan)
    values = release["values"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "values.json").write_text(json.dumps(values, indent=1, sort_keys=True))
    config = values.get("config", {})
    (out / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True))
    (out / "airflow.cfg").write_text(cfg_text(config))
    texts = {
        "webserver_config.py": values.get("apiServer", {}).get("apiServerConfig"),
        "airflow_local_settings.py": values.get("airflowLocalSettings"),
        "pod_template_file.yaml": values.get("podTemplate"),
    }
    for name, text in texts.items():
        if text:
            (out / name).write_text(text)
    templates = out / "pod_templates"
    templates.mkdir(exist_ok=True)
    for name, text in pod_template_files(plan, values).items():
        (templates / name).write_text(text)
    for folder, files in api_server_files(plan, values).items():
        (out / folder).mkdir(exist_ok=True)
        for name, text in files.items():
            (out / folder / name).write_text(text)
    (out / "log_grants.json").write_text(json.dumps(log_grants(plan, values), indent=1, sort_keys=True))
    facts = meta(stack, overrides) | {"release_namespace": release.get("namespace", "default")}
    (out / "meta.json").write_text(json.dumps(facts, indent=1, sort_keys=True))


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in _AIRFLOW_FILES:
        path = folder / name
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file():
                h.update(f.relative_to(folder).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def export(out: Path) -> dict[str, Any]:
    """Write the bundle of every stack and variant into ``out`` (replaced); returns the index."""
    if out.exists():
        shutil.rmtree(out)
    todo = {stack: (stack, {}) for stack in harness.stack_names(stacks_dir=STACKS_DIR)} | VARIANTS
    out.mkdir(parents=True)
    (out / "chart_config.json").write_text(json.dumps(chart_config(upstream_dir()), indent=1, sort_keys=True))
    index: dict[str, Any] = {"variants": {}}
    seen: dict[str, str] = {}
    # One plan per process, two at a time (the machine has two cores): ~10 s instead of ~19 s.
    with ProcessPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(write_variant, out / name, stack, overrides) for name, (stack, overrides) in todo.items()]
        for job in jobs:
            job.result()
    for name, (stack, overrides) in todo.items():
        digest = _digest(out / name)
        index["variants"][name] = {"stack": stack, "overrides": overrides, "same_as": seen.get(digest)}
        seen.setdefault(digest, name)
    (out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    return index


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests_airflow.export OUT")
    result = export(Path(sys.argv[1]))
    for variant, info in result["variants"].items():
        print(variant, f"(same Airflow values as {info['same_as']})" if info["same_as"] else "")
