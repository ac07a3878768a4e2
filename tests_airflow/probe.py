"""Run Airflow 3.1.7's own code on one variant of the bundle and print what it did, as JSON.

Runs in ``.venv-airflow`` as ``python -m tests_airflow.probe VARIANT_DIR OUT_JSON``, one process per
variant: Airflow's configuration, settings and policy hooks are process-wide singletons that are
read once at ``import airflow``, so each variant gets a fresh interpreter with an ``AIRFLOW_HOME``
laid out the way the chart lays out a component's (``airflow.cfg``, ``webserver_config.py``,
``config/airflow_local_settings.py`` and the api-server's ``config/`` modules: chart 1.19.0 ``templates/_helpers.yaml``
``airflow_config_path``, ``airflow_webserver_config_path``, ``airflow_local_setting_path``).

The probe records facts, never verdicts: ``tests_airflow/test_*.py`` hold the expectations. Each
check's facts are stored under its name; an exception inside a check is recorded as
``{"error": traceback}`` (``probe_io.guarded``) so one broken check does not hide the others.

Layout the probe builds in a temporary directory:

- ``home/airflow.cfg``: the chart's literal config defaults, the settings the chart renders from
  templates that the checks depend on (executor, executor namespace, pod template file, DAG folder),
  then the program's ``values.config`` over them (Helm merges user values over chart defaults).
- process environment: the release's ``values.env`` (what every Airflow container gets), plus a
  placeholder for each ``apiServer.env`` entry that comes from a Secret.
- ``dags/``: sample DAG files in domain folders (``probe_runtime.sample_dags``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

#: The executor's pod template inside a component (chart: ``airflow_pod_template_file``).
CHART_POD_TEMPLATES = "/opt/airflow/pod_templates"


def merged_config(bundle: Path, variant: Path, home: Path) -> dict[str, dict[str, str]]:
    """Chart defaults, chart-templated settings the checks need, then ``values.config`` on top."""
    values = json.loads((variant / "values.json").read_text())
    meta = json.loads((variant / "meta.json").read_text())
    config: dict[str, dict[str, str]] = {
        s: dict(o) for s, o in json.loads((bundle / "chart_config.json").read_text()).items()
    }
    rendered = {
        "core": {"executor": values["executor"], "dags_folder": str(home.parent / "dags")},
        "database": {"sql_alchemy_conn": f"sqlite:///{home / 'airflow.db'}"},
        "kubernetes_executor": {
            "namespace": meta["release_namespace"],
            "pod_template_file": str(variant / "pod_template_file.yaml"),
        },
        "api": {"secret_key": "probe-secret-key-not-a-real-one"},
        # Rejected sample DAGs log their tracebacks at ERROR; they are facts here, not noise.
        "logging": {"logging_level": "CRITICAL"},
    }
    for source in (rendered, values.get("config", {})):
        for section, options in source.items():
            config.setdefault(section, {}).update({k: str(v) for k, v in options.items()})
    return config


def component_env(values: dict[str, Any]) -> dict[str, str]:
    """Environment every Airflow container gets (``values.env``) and the api-server's Secret refs."""
    env = {e["name"]: e["value"] for e in values.get("env", []) if "value" in e}
    for e in values.get("apiServer", {}).get("env", []):
        env[e["name"]] = e.get("value", f"probe-placeholder-for-{e['name'].lower()}")
    return env


def prepare(bundle: Path, variant: Path, work: Path) -> dict[str, dict[str, str]]:
    """Lay out AIRFLOW_HOME and the environment; must run before anything imports airflow."""
    home = work / "home"
    (home / "config").mkdir(parents=True)
    (work / "dags").mkdir()
    config = merged_config(bundle, variant, home)
    lines = []
    for section in sorted(config):
        lines += [f"[{section}]", *(f"{k} = {v}" for k, v in sorted(config[section].items())), ""]
    (home / "airflow.cfg").write_text("\n".join(lines))
    for name, target in (
        ("webserver_config.py", home / "webserver_config.py"),
        ("airflow_local_settings.py", home / "config" / "airflow_local_settings.py"),
    ):
        if (variant / name).is_file():
            target.write_text((variant / name).read_text())
    # The api-server's modules mounted into $AIRFLOW_HOME/config (its auth manager), where the values put them.
    for module in sorted((variant / "config").glob("*.py")) if (variant / "config").is_dir() else []:
        (home / "config" / module.name).write_text(module.read_text())
    values = json.loads((variant / "values.json").read_text())
    for name in [k for k in os.environ if k.startswith("AIRFLOW")]:
        del os.environ[name]
    os.environ.update(component_env(values))
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW_CONFIG"] = str(home / "airflow.cfg")
    # No AWS credentials or network here: boto3 must never reach a real endpoint.
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing")
    return config


def main(bundle: Path, variant: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="airflow-probe-") as tmp:
        work = Path(tmp)
        config = prepare(bundle, variant, work)
        # Only now: importing airflow reads AIRFLOW_HOME and the config.
        from tests_airflow import probe_config, probe_fab, probe_runtime
        from tests_airflow.probe_io import guarded

        values = json.loads((variant / "values.json").read_text())
        meta = json.loads((variant / "meta.json").read_text())
        results: dict[str, Any] = {
            "config": guarded(lambda: probe_config.check(config, values, variant)),
            "task_pod": guarded(lambda: probe_config.task_pod(variant)),
            "task_runner_examples": guarded(probe_runtime.examples_in_task_runner),
            "fab": guarded(lambda: probe_fab.check(meta)),
            "dagbag": guarded(lambda: probe_runtime.dagbag(meta, work / "dags")),
            "dag_access": guarded(lambda: probe_fab.dag_access(meta, work / "dags")),
            "logout": guarded(lambda: probe_fab.logout(meta)),
            "pods": guarded(lambda: probe_runtime.pods(meta, variant)),
            "executor": guarded(probe_runtime.executor),
            "remote_logging": guarded(lambda: probe_runtime.remote_logging(work)),
            "log_keys": guarded(lambda: probe_runtime.log_keys(meta)),
            "secrets_backend": guarded(lambda: probe_runtime.secrets_backend(meta)),
        }
    out.write_text(json.dumps(results, indent=1, sort_keys=True, default=str))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tests_airflow.probe VARIANT_DIR OUT_JSON")
    variant_dir = Path(sys.argv[1]).resolve()
    main(variant_dir.parent, variant_dir, Path(sys.argv[2]))
