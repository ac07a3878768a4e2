"""A deliberately broken copy of one variant, to show that each Airflow-side check can fail.

``make(bundle)`` copies the first variant that has domains and a KubernetesExecutor pod template to
``<bundle>/_broken`` and breaks one thing per check:

- ``values.config``: an option Airflow does not know, a boolean it cannot parse, remote logging
  off and no secrets backend;
- the api-server's ``AIRFLOW_MESH_WEBSERVER_CONFIG`` data: an empty ``roles_mapping``, so
  ``webserver_config.py``'s ``AUTH_ROLES_MAPPING`` maps nobody to a role;
- ``airflow_local_settings.py``: ``dag_policy``, ``task_policy`` and ``pod_mutation_hook`` redefined as no-ops
  (every forged DAG id is accepted, every pod stays where its template put it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

NAME = "_broken"
#: The api-server env var carrying webserver_config.py's data (components/airflow/runtime/webserver_config.py).
WEBSERVER_DATA_ENV = "AIRFLOW_MESH_WEBSERVER_CONFIG"

_NOOP_POLICIES = '''

def dag_policy(dag):
    """Broken on purpose (tests_airflow/broken.py): accepts everything."""


def task_policy(task):
    """Broken on purpose (tests_airflow/broken.py): writes and checks nothing."""


def pod_mutation_hook(pod):
    """Broken on purpose (tests_airflow/broken.py): places nothing."""
'''


def make(bundle: Path) -> str:
    """Write the broken variant into ``bundle`` and return its name."""
    index = json.loads((bundle / "index.json").read_text())["variants"]
    source = next(
        name
        for name in index
        if json.loads((bundle / name / "meta.json").read_text())["domains"]
        and (bundle / name / "pod_template_file.yaml").is_file()
    )
    target = bundle / NAME
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(bundle / source, target)
    values = json.loads((target / "values.json").read_text())
    config = values.setdefault("config", {})
    config.setdefault("core", {})["probe_option_airflow_does_not_know"] = "x"
    config.setdefault("logging", {}).update(remote_logging="False", delete_local_logs="perhaps")
    config.setdefault("secrets", {})["backend"] = ""
    web_env = [e for e in values.get("apiServer", {}).get("env", []) if e.get("name") == WEBSERVER_DATA_ENV]
    if len(web_env) != 1:
        raise ValueError(f"the api-server env has no single {WEBSERVER_DATA_ENV} entry to break")
    data = json.loads(web_env[0]["value"])
    data["roles_mapping"] = {}
    web_env[0]["value"] = json.dumps(data)
    (target / "values.json").write_text(json.dumps(values, indent=1, sort_keys=True))
    local = target / "airflow_local_settings.py"
    local.write_text(local.read_text() + _NOOP_POLICIES)
    return NAME
