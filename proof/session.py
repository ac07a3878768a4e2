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
        self._built: dict[str, ObjectSet | ChartError] = {}

    def plan(self, set_id: str) -> harness.Plan:
        if set_id not in self._plans:
            self._plans[set_id] = variants.plan_of(set_id)
        return self._plans[set_id]

    def objects(self, set_id: str) -> ObjectSet:
        """The set with run-time objects; raises ChartError when a release does not render (the
        error is kept too: ``functools.cache`` would re-render up to the failing release on every call,
        and a set that does not render is asked for by every one of its tests)."""
        if set_id not in self._built:
            try:
                built = objects.build(set_id, self.plan(set_id).resources, self.library, self.upstream)
                self._built[set_id] = reviewed.with_runtime_objects(built)
            except ChartError as err:
                self._built[set_id] = err
        answer = self._built[set_id]
        if isinstance(answer, ChartError):
            raise answer
        return answer

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
