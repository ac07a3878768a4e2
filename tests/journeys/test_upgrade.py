"""Journey 8: every upgrade of the Airflow release runs its migration Job cleanly.

The chart (1.19.0) names the Job ``<release>-run-airflow-migrations`` whatever the revision, and a Job's
pod template is immutable, so a finished Job still present at the next upgrade fails it whenever the
template changed (apache/airflow#27561). The program deletes it as soon as it finishes (TTL 0); Helm
recreates a missing resource on upgrade, and the components' wait-for-migrations init containers keep
the atomic release from returning while the Job still runs.
"""

from __future__ import annotations

import json
import re

from components import versions

RELEASE = "kubernetes:helm.sh/v3:Release"


def _values(plan) -> dict:
    (release,) = [r for r in plan.of_type(RELEASE) if r["inputs"].get("chart") == "airflow"]
    values = release["inputs"]["values"]
    return json.loads(values) if isinstance(values, str) else values


def test_migration_job_is_gone_before_the_next_upgrade(plan):
    job = _values(plan)["migrateDatabaseJob"]
    assert job["useHelmHooks"] is False  # a plain Job (hooks are the other way out of #27561)
    assert job["ttlSecondsAfterFinished"] == 0
    assert job.get("enabled", True) is True


def test_components_wait_for_migrations(plan):
    values = _values(plan)
    for component in ("scheduler", "apiServer", "triggerer", "dagProcessor"):
        assert values.get(component, {}).get("waitForMigrations", {}).get("enabled", True) is True, component


def test_chart_names_the_job_without_a_revision_and_renders_ttl_zero(upstream):
    """Why TTL 0 is needed (a fixed name) and that the chart writes a 0 (it tests kindIs "invalid", not truth)."""
    chart = upstream / "charts" / f"airflow-{versions.AIRFLOW_CHART_VERSION}"
    template = (chart / "templates" / "jobs" / "migrate-database-job.yaml").read_text()
    (name,) = re.findall(r"^  name: (.*)$", template, re.M)[:1]
    assert "Revision" not in name and name.endswith("-run-airflow-migrations")
    assert 'if not (kindIs "invalid" .Values.migrateDatabaseJob.ttlSecondsAfterFinished)' in template
