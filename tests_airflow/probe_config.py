"""Configuration facts from Airflow 3.1.7 itself: lint, which options it knows, how a task pod resolves its config.

Imported by ``tests_airflow/probe.py`` after the variant's ``AIRFLOW_HOME`` is in place.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from airflow.cli.commands import config_command
from airflow.configuration import AirflowConfigParser, conf
from airflow.providers_manager import ProvidersManager

_ENV_OPTION = re.compile(r"^AIRFLOW__(?P<section>[A-Z0-9_]+?)__(?P<key>[A-Z0-9_]+?)(?P<suffix>_CMD|_SECRET)?$")
_BOOLEANS = {"t", "true", "1", "f", "false", "0"}  # AirflowConfigParser.getboolean (configuration.py)


def _env_options(env: list[dict[str, Any]], source: str) -> Iterator[tuple[str, str, str, str | None]]:
    for entry in env:
        match = _ENV_OPTION.match(entry.get("name", ""))
        if match:
            yield match["section"].lower(), match["key"].lower(), source, entry.get("value")


def pod_templates(variant: Path) -> dict[str, dict[str, Any]]:
    """Every pod template of the variant: ``pod_template_file.yaml`` and the scheduler-mounted ones."""
    files = [variant / "pod_template_file.yaml", *sorted((variant / "pod_templates").glob("*"))]
    return {f.name: yaml.safe_load(f.read_text()) for f in files if f.is_file()}


def options_we_set(values: dict[str, Any], variant: Path) -> list[tuple[str, str, str, str | None]]:
    """(section, key, where, value) of every Airflow option the program sets: ``values.config``,
    ``AIRFLOW__S__K`` in any ``env`` list of the values, and the task pod templates' container env."""
    out = [
        (section, key, "values.config", str(value))
        for section, options in values.get("config", {}).items()
        for key, value in options.items()
    ]
    out += _env_options(values.get("env", []), "values.env")
    for name, section in values.items():
        if isinstance(section, dict) and isinstance(section.get("env"), list):
            out += _env_options(section["env"], f"values.{name}.env")
    for name, pod in pod_templates(variant).items():
        for container in pod["spec"]["containers"]:
            out += _env_options(container.get("env", []), f"pod template {name}")
    return out


def _kind(option: dict[str, Any]) -> str | None:
    """The option's type; config.yml declares many booleans ``type: string`` with a ``"True"`` or
    ``"False"`` default (e.g. ``[logging] remote_logging``), and Airflow reads those with getboolean."""
    kind = option.get("type")
    if kind == "string" and str(option.get("default")).lower() in {"true", "false"}:
        return "boolean"
    return kind


def _typed_ok(kind: str | None, value: str | None) -> bool:
    if value is None or kind not in {"boolean", "integer", "float"}:
        return True
    text = value.strip().lower()
    if kind == "boolean":
        return text in _BOOLEANS
    try:
        (int if kind == "integer" else float)(text)
    except ValueError:
        return False
    return True


def lint() -> dict[str, Any]:
    """``airflow config lint`` (cli/commands/config_command.py ``lint_config``) on this process's config,
    plus the same findings keyed by option: the CLI prints messages only."""
    args = argparse.Namespace(section=None, option=None, ignore_section=None, ignore_option=None, verbose=False)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        config_command.lint_config(args)
    findings = [
        [change.config.section, change.config.option, change.message]
        for change in config_command.CONFIGS_CHANGES
        if conf.has_option(change.config.section, change.config.option, lookup_from_deprecated=False)
        and change.message is not None
    ]
    return {"output": buffer.getvalue(), "findings": findings}


def check(config: dict[str, dict[str, str]], values: dict[str, Any], variant: Path) -> dict[str, Any]:
    """Lint findings, and every option we set that 3.1.7 (core + installed providers) does not know,
    knows only under a deprecated name, or cannot parse as its declared type."""
    ProvidersManager().initialize_providers_configuration()
    described = conf.configuration_description
    renamed = conf.inversed_deprecated_options  # (old section, old key) -> (new section, new key)
    ours = options_we_set(values, variant)
    unknown, deprecated, bad_type = [], [], []
    for section, key, where, value in ours:
        option = described.get(section, {}).get("options", {}).get(key)
        if (section, key) in renamed:
            deprecated.append([section, key, where, *renamed[(section, key)]])
        elif option is None:
            unknown.append([section, key, where, "section unknown" if section not in described else "option unknown"])
        elif not _typed_ok(_kind(option), value):
            bad_type.append([section, key, where, _kind(option), value])
    return {
        "set": [list(o[:3]) for o in ours],
        "unknown": unknown,
        "deprecated": deprecated,
        "bad_type": bad_type,
        "lint": lint(),
        "sections_known": sorted(described),
    }


def task_pod(variant: Path) -> dict[str, Any]:
    """How each task pod resolves the settings that matter, from what the pod template gives it.

    A KubernetesExecutor task pod gets no ``airflow.cfg`` unless its template mounts one, so it sees
    the container env over Airflow's defaults (config.yml). Resolved with a fresh
    ``AirflowConfigParser`` whose environment is exactly the container's ``AIRFLOW__*`` env.
    """
    out: dict[str, Any] = {}
    saved = dict(os.environ)
    try:
        for name, pod in pod_templates(variant).items():
            base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
            mounts = [m["mountPath"] for m in base.get("volumeMounts", [])]
            for key in [k for k in os.environ if k.startswith("AIRFLOW")]:
                del os.environ[key]
            os.environ.update({e["name"]: e["value"] for e in base.get("env", []) if "value" in e})
            parser = AirflowConfigParser()
            parser.load_providers_configuration()
            out[name] = {
                "airflow_cfg_mounted": any(m.endswith(("airflow.cfg", "/opt/airflow")) for m in mounts),
                "load_examples": parser.getboolean("core", "load_examples"),
                "remote_logging": parser.getboolean("logging", "remote_logging"),
                "remote_base_log_folder": parser.get("logging", "remote_base_log_folder"),
                "remote_log_conn_id": parser.get("logging", "remote_log_conn_id"),
                "secrets_backend": parser.get("secrets", "backend"),
                "secrets_backend_kwargs": json.loads(parser.get("secrets", "backend_kwargs") or "{}"),
                "execution_api_server_url": parser.get("core", "execution_api_server_url"),
            }
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return out
