"""What watching the platform costs: the CloudWatch dashboard, alarms, custom metrics, Logs and X-Ray.

Counted exactly from the recorded plan:

- **dashboards**: one price per ``aws:cloudwatch/dashboard:Dashboard``;
- **alarms**: billed per metric an alarm reads (a metric-math alarm over two metrics is two alarm
  metrics), at the high-resolution price when its period is under 60 s;
- **log metric filters**: each publishes one custom metric (none here has dimensions; one that has is
  left unpriced, its values being data);
- **the collector's awsemf metrics**: read from the OpenTelemetry Collector's configuration in the plan
  (the Helm release's ``alternateConfig``): each metric declaration's metric names x the combinations
  of its dimensions' values, which the plan also knows: ``service.name`` is each Airflow release's
  ``[metrics] otel_service`` (Airflow's default ``Airflow``, airflow/config_templates/config.yml),
  ``domain`` the values the collector's transform sets, ``namespace``/``name`` the cert-manager
  Certificates of the plan (Certificates a chart creates at install are not seen).

Priced from stated usage (``assumptions`` in plan/prices.yaml, per environment):

- **CloudWatch Logs** of the log groups the collector writes: GB ingested a month, and the steady-state
  storage of each group, GB/month x its retention in months (at most ``log_storage_horizon_months``). The
  total takes the steady state, the conservative figure; the line also gives the first month's storage, the
  group still filling (:func:`first_month_gb_months`). The EKS control-plane and flow-log groups are priced
  the same way by :mod:`plan.service_logs_cost`.
  Storage is priced at the ingested size, an upper bound: CloudWatch bills archived logs compressed
  (the AWS Pricing Calculator assumes 15% of the ingested size);
- **X-Ray**: traces recorded a month, when the collector has an ``awsxray`` exporter in a pipeline.

Free tiers are account-wide and not subtracted.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
#: Airflow's ``[metrics] otel_service`` when unset (airflow/config_templates/config.yml, 3.1.7).
AIRFLOW_OTEL_SERVICE = "Airflow"
#: awsemf's rollup setting under which each declared dimension set is exactly one metric per value
#: combination; the default (ZeroAndSingleDimensionRollup) adds rollups this module does not count.
NO_ROLLUP = "NoDimensionRollup"
#: Assumption keys of the log groups, by the exporter that writes them.
LOG_ROLES = {"awscloudwatchlogs": "access_trail", "awsemf": "emf_metrics"}
_SET_DOMAIN = re.compile(r'set\(datapoint\.attributes\["domain"\], "([^"]+)"\)')
_LITERAL = re.compile(r"^\^((?:[^\\^$.*+?()\[\]{}|]|\\.)+)\$$")
DAYS_PER_MONTH = 365 / 12

Add = Callable[..., None]


def inputs_of(r: Mapping[str, Any]) -> Mapping[str, Any]:
    return r.get("inputs") or {}


def _number(p: Mapping[str, Any], key: str) -> float | None:
    value = p.get(key)  # .get: an unpriced region (cost._NoPrices) gives None, not an error
    return float(value) if isinstance(value, int | float) else None


def per_environment(a: Mapping[str, Any], key: str, environment: str) -> Any:
    """The per-environment assumption ``a[key][environment]``; an unknown environment gets the largest (prod's).
    Also the NAT data volume's lookup (plan/cost.py)."""
    table = a.get(key) or {}
    if environment in table:
        return table[environment]
    return max(table.values(), key=lambda v: sum(v.values()) if isinstance(v, Mapping) else v, default=None)


def collector_configs(resources: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(release, configuration) of every OpenTelemetry Collector release in the plan."""
    out = []
    for r in resources:
        values = inputs_of(r).get("values") if r["type"] == RELEASE else None
        config = values.get("alternateConfig") if isinstance(values, Mapping) else None
        if isinstance(config, Mapping) and "exporters" in config:
            out.append((r, config))
    return out


def _used(config: Mapping[str, Any], signal: str, kind: str) -> list[tuple[str, Mapping[str, Any]]]:
    """Exporters of type ``kind`` (``awsemf``, ``awsemf/x``) that a ``signal`` pipeline uses."""
    pipelines = (config.get("service") or {}).get("pipelines") or {}
    names = {e for p, spec in pipelines.items() if p.split("/")[0] == signal for e in spec.get("exporters", [])}
    exporters = config.get("exporters") or {}
    return [(n, exporters[n] or {}) for n in sorted(names) if n.split("/")[0] == kind and n in exporters]


def _otel_service(release: Mapping[str, Any]) -> str:
    """The ``service.name`` an Airflow release's metrics carry (its ``[metrics] otel_service``)."""
    metrics = ((inputs_of(release).get("values") or {}).get("config") or {}).get("metrics") or {}
    return str(metrics.get("otel_service") or AIRFLOW_OTEL_SERVICE)


def dimension_values(
    resources: Sequence[Mapping[str, Any]], config: Mapping[str, Any]
) -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """Dimension (or dimensions that go together) -> the value tuples the plan says they take."""
    services = sorted(
        {_otel_service(r) for r in resources if r["type"] == RELEASE and inputs_of(r).get("chart") == "airflow"}
    )
    statements = [
        s
        for name, processor in (config.get("processors") or {}).items()
        if name.split("/")[0] == "transform"
        for group in (processor or {}).get("metric_statements") or []
        for s in group.get("statements") or []
    ]
    domains = sorted({m for s in statements for m in _SET_DOMAIN.findall(s)})
    certificates = sorted(
        {
            (
                str((inputs_of(r).get("metadata") or {}).get("namespace")),
                str((inputs_of(r).get("metadata") or {}).get("name")),
            )
            for r in resources
            if r["type"] == CERTIFICATE
        }
    )
    return {
        ("service.name",): [(s,) for s in services],
        ("domain",): [(d,) for d in domains],
        ("namespace", "name"): certificates,
    }


def emf_metric_count(
    exporter: Mapping[str, Any], values: Mapping[tuple[str, ...], list[tuple[str, ...]]]
) -> tuple[int | None, list[str]]:
    """(custom metrics awsemf creates, how they were counted); None with the reason when they cannot be counted."""
    if exporter.get("dimension_rollup_option") != NO_ROLLUP:
        return None, [f"dimension_rollup_option is {exporter.get('dimension_rollup_option')!r}, not {NO_ROLLUP}"]
    total, parts = 0, []
    for declaration in exporter.get("metric_declarations") or []:
        names = [_LITERAL.match(s) for s in declaration.get("metric_name_selectors") or []]
        if not all(names):
            return None, ["a metric_name_selector is a pattern, not one name"]
        for dims in declaration.get("dimensions") or [[]]:
            groups = [g for g in values if set(g) <= set(dims)]
            if {d for g in groups for d in g} != set(dims):
                return None, [f"the values of dimensions {dims} are not in the plan"]
            combos = len(list(itertools.product(*(values[g] for g in groups))))
            total += len(names) * combos
            parts.append(f"{len(names)} x {combos} {'/'.join(dims)}")
    return total, parts


def lines(
    resources: Sequence[Mapping[str, Any]],
    p: Mapping[str, Any],
    a: Mapping[str, Any],
    environment: str,
    add: Add,
) -> list[str]:
    """Add the observability lines (category ``observability``); return the assumptions they used."""
    assumptions: list[str] = []

    def priced(r: Mapping[str, Any], what: str, key: str, quantity: float | None, why: str = "") -> None:
        price = _number(p, key)
        if quantity is None:
            add(r, "observability", f"{what}: {why}", None)
        elif price is None:
            add(r, "observability", f"{what}: no price for {key} in plan/prices.yaml", None)
        else:
            add(r, "observability", what, quantity * price)

    for r in resources:
        t, inputs = r["type"], inputs_of(r)
        if t == DASHBOARD:
            priced(r, "CloudWatch dashboard", "cloudwatch_dashboard_month", 1)
        elif t == ALARM:
            queries = inputs.get("metricQueries") or []
            metrics = sum(1 for q in queries if q.get("metric")) if queries else 1
            periods = [q["metric"].get("period", 60) for q in queries if q.get("metric")] or [inputs.get("period", 60)]
            high = min(int(x) for x in periods) < 60
            key = "cloudwatch_alarm_metric_month" + ("_high_resolution" if high else "")
            resolution = "high" if high else "standard"
            priced(
                r, f"CloudWatch alarm on {metrics} metric{'s' * (metrics != 1)} ({resolution} resolution)", key, metrics
            )
        elif t == METRIC_FILTER:
            transform = inputs.get("metricTransformation") or {}
            what = f"custom metric `{transform.get('name')}` from a log metric filter"
            count = None if transform.get("dimensions") else 1
            priced(r, what, "cloudwatch_custom_metric_month", count, "its dimensions' values are data, not in the plan")

    groups = {str(inputs_of(r).get("name")): r for r in resources if r["type"] == LOG_GROUP}
    for release, config in collector_configs(resources):
        for name, exporter in _used(config, "metrics", "awsemf"):
            count, parts = emf_metric_count(exporter, dimension_values(resources, config))
            what = f"{count} custom metrics from the collector's {name} ({', '.join(parts)})"
            priced(
                {"name": f"{release['name']}:{name}"}, what, "cloudwatch_custom_metric_month", count, "; ".join(parts)
            )
        writers = _used(config, "logs", "awscloudwatchlogs") + _used(config, "metrics", "awsemf")
        written = {str(e.get("log_group_name")): LOG_ROLES[n.split("/")[0]] for n, e in writers}
        for group_name, role in written.items():
            if group_name in groups:
                assumptions += _log_group(groups[group_name], role, p, a, environment, add)
        for name, _ in _used(config, "traces", "awsxray"):
            millions = per_environment(a, "xray_traces_millions_per_month", environment)
            if millions is None:
                what, why = "X-Ray traces", "no xray_traces_millions_per_month assumption in plan/prices.yaml"
            else:
                what, why = f"X-Ray, {millions:g} million traces recorded a month (assumed)", ""
                assumptions.append(f"{millions:g} million X-Ray traces a month ({environment}), from sampled requests")
            priced({"name": f"{release['name']}:{name}"}, what, "xray_traces_recorded_million", millions, why)
    return assumptions


#: Said once under the assumptions when anything watched is priced (cost.py).
FREE_TIERS = (
    "CloudWatch and X-Ray free tiers (10 custom metrics, 10 alarm metrics, 3 dashboards, 5 GB of logs, "
    "100,000 traces a month) are account-wide and not subtracted"
)


def _log_group(
    group: Mapping[str, Any],
    role: str,
    p: Mapping[str, Any],
    a: Mapping[str, Any],
    environment: str,
    add: Add,
) -> list[str]:
    """One line for a log group the collector writes: ingestion plus steady-state storage."""
    gb = (per_environment(a, "log_gb_per_month", environment) or {}).get(role)
    return log_group_line(group, gb, f"log_gb_per_month.{role}", "", p, a, environment, add)


def first_month_gb_months(gb: float, days: int) -> float:
    """GB-months a group bills in its first month: it fills from empty, and a retention shorter than the month
    caps what it holds (``gb`` a month, ``days`` of retention, 0 = forever)."""
    r = days / DAYS_PER_MONTH if days else 1.0
    return gb * (0.5 if r >= 1 else r - r * r / 2)


def log_group_line(
    group: Mapping[str, Any],
    gb: float | None,
    key: str,
    source: str,
    p: Mapping[str, Any],
    a: Mapping[str, Any],
    environment: str,
    add: Add,
    log_name: str | None = None,
) -> list[str]:
    """Add one CloudWatch Logs line: ``gb`` GB/month ingested plus storage for the group's retention; return its
    assumption. The total takes the steady-state storage (the conservative figure); the line also gives the first
    month's, when the group is still filling. ``key`` names the assumption that is missing when ``gb`` is None;
    ``source`` says where the data comes from; ``log_name`` is the group's name when ``group`` has none (EKS's own)."""
    horizon = a.get("log_storage_horizon_months")
    days = int(inputs_of(group).get("retentionInDays") or 0)
    kept = f"{days}-day retention" if days else "kept forever"
    if gb is None or horizon is None:
        missing = key if gb is None else "log_storage_horizon_months"
        add(group, "observability", f"CloudWatch Logs ({kept}): no {missing} assumption in plan/prices.yaml", None)
        return []
    months = min(days / DAYS_PER_MONTH, horizon) if days else horizon
    ingest, store = _number(p, "cloudwatch_logs_ingested_gb"), _number(p, "cloudwatch_logs_stored_gb_month")
    stored = gb * months
    capped = not days or days / DAYS_PER_MONTH > horizon
    held = f"{stored:,.1f} GB held at steady state ({kept}{f', counted as {horizon:g} months' if capped else ''})"
    what = f"CloudWatch Logs{source}: {gb:g} GB/month ingested (assumed) + {held}"
    if ingest is None or store is None:
        add(group, "observability", f"{what}: no price for CloudWatch Logs in plan/prices.yaml", None)
    else:
        first = first_month_gb_months(gb, days)
        add(
            group,
            "observability",
            f"{what}; the total counts steady-state storage, ${stored * store:,.2f}/month; the first month stores "
            f"{first:,.1f} GB-months, ${first * store:,.2f} (${gb * ingest + first * store:,.2f} that month in all)",
            gb * ingest + stored * store,
        )
    return [
        f"{gb:g} GB a month into log group `{log_name or inputs_of(group).get('name')}` ({environment}), which holds "
        f"{months:.1f} months of it once its retention has passed{' (capped)' if capped else ''}; stored GB priced "
        "as ingested, an upper bound (archived logs bill compressed; AWS's calculator assumes 15%)"
    ]
