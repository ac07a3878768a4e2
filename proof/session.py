"""One proof session: every planned set built, validated and scanned once, on demand.

Shared by the tests (a session fixture) and by anything else that wants the same results; each
expensive step runs once per set id and is cached (renders and checkov on disk too).
"""

from __future__ import annotations

import functools
from pathlib import Path

from plan import harness
from proof import apiserver, checkov_scan, objects, reviewed, variants
from proof.charts import ChartError, ChartLibrary
from proof.objects import ObjectSet


class Session:
    """Lazily built results for the set ids of :mod:`proof.variants`; ``plans`` may hold plans
    already recorded (the tests' session plans) to avoid planning twice."""

    def __init__(self, upstream: Path, plans: dict[str, harness.Plan] | None = None):
        self.upstream = upstream
        self.library = ChartLibrary(upstream)
        self._plans = dict(plans or {})

    def plan(self, set_id: str) -> harness.Plan:
        if set_id not in self._plans:
            self._plans[set_id] = variants.plan_of(set_id)
        return self._plans[set_id]

    @functools.cache  # noqa: B019 (one Session per test session)
    def objects(self, set_id: str) -> ObjectSet:
        """The set with run-time objects; raises ChartError when a release does not render."""
        built = objects.build(set_id, self.plan(set_id).resources, self.library, self.upstream)
        return reviewed.with_runtime_objects(built)

    @functools.cache  # noqa: B019
    def api(self, set_id: str) -> apiserver.Report:
        return apiserver.validate(self.objects(set_id))

    @functools.cached_property
    def checkov(self) -> dict[str, checkov_scan.Result]:
        """checkov over every set that renders, at once (one process); a set that does not render
        is missing here and fails its render test instead."""
        sets = {}
        for set_id in variants.all_ids():
            try:
                sets[set_id] = self.objects(set_id)
            except ChartError:
                continue
        return checkov_scan.scan(sets, full=[s for s in harness.stack_names() if s in sets])
