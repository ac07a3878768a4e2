"""Per-set counts of what the proof ran and found: ``python -m proof.summary`` prints a table.

Needs ``$AIRFLOW_MESH_UPSTREAM_DIR`` and the checkov virtualenv, like the tests.
"""

from __future__ import annotations

from collections.abc import Iterator

from proof import charts, checkov_scan, mesh, ownership, pod_security, variants, wiring
from proof.charts import ChartError
from proof.session import Session

CHECKS = {
    "mounts": wiring.mount_collisions,
    "storage": wiring.storage_classes,
    "references": wiring.references,
    "unset": wiring.unset_values,
    "mesh": mesh.enrollment,
    "mesh-policies": mesh.policy_targets,
    "mesh-watch": mesh.watched_versions,
    "owners": ownership.owned_once,
    "admission": pod_security.admission,
    "restricted": pod_security.restricted_findings,
}


def rows(session: Session) -> Iterator[dict[str, object]]:
    """One dict per set id: releases, rendered/emitted objects, CEL counts, API errors, checkov
    passed/failed/suppressed/unexplained, and the objects each wiring check flags."""
    suppressions = checkov_scan.suppressions()
    scans = session.checkov
    for set_id in variants.all_ids():
        try:
            objects = session.objects(set_id)
        except ChartError as err:
            yield {"set": set_id, "render error": str(err)}
            continue
        api = session.api(set_id)
        scan = scans[set_id]
        yield {
            "set": set_id,
            "releases": len(objects.renders),
            "rendered": sum(len(r.objects) + len(r.crds) for r in objects.renders),
            "emitted": sum(1 for o in objects.objects if o.source == "emitted"),
            "cel evaluated": api.cel_evaluated,
            "cel update-only": api.cel_transition_skipped,
            "api errors": len(api.errors),
            "checkov passed": scan.passed,
            "checkov failed": len(scan.failed),
            "checkov suppressed": scan.suppressed(suppressions),
            "checkov unexplained": len(scan.unexplained(suppressions)),
            **{name: len({f.ref for f in check(objects)}) for name, check in CHECKS.items()},
        }


def markdown(session: Session) -> str:
    table = list(rows(session))
    columns = [*next((r for r in table if "releases" in r), table[0]), "render error"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(Session(charts.upstream_dir())))
