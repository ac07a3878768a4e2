"""A picture of the stack's CloudWatch dashboard, drawn from its definition (no data: the layout).

``python -m plan.dashboard_picture [STACK]`` writes ``docs/observability-dashboard.svg`` from
:func:`components.observability.dashboard.dashboard_body` for the stack's settings (default ``staging``,
which has data domains), so the picture in docs/observability.md is the dashboard ``pulumi up``
creates; a test keeps the file current. Plain SVG: no plotting library.
"""

from __future__ import annotations

import sys
from html import escape
from typing import Any

from components.observability.dashboard import Signals, dashboard_body
from plan import harness

OUT = harness.ROOT / "docs" / "observability-dashboard.svg"
#: CloudWatch's grid is 24 columns wide; one unit of height is a row.
UNIT_X, UNIT_Y, PAD = 40, 28, 6
HEADER = 34


def signals_for(stack: str) -> Signals:
    s = harness.settings_for(stack)
    return Signals(
        stack=s.stack,
        region=s.region,
        namespace=s.metrics_namespace,
        access_trail_log_group=s.access_trail_log_group,
        domains=tuple(d.name for d in s.domains),
        certificates=(),
    )


def _lines(widget: dict[str, Any]) -> list[str]:
    props = widget["properties"]
    if widget["type"] == "log":
        return ["Logs Insights on the access trail:", "source -> destination, denied_by", "(newest 50)"]
    out = []
    for metric in props.get("metrics", []):
        if isinstance(metric[0], dict):
            out.append(metric[0].get("label") or metric[0]["expression"][:44])
            continue
        options = metric[-1] if isinstance(metric[-1], dict) else {}
        if options.get("visible") is False:
            continue
        names = [m for m in metric if isinstance(m, str)]
        dims = [f"{k}={v}" for k, v in zip(names[2::2], names[3::2], strict=False) if k != "service.name"]
        stat = options.get("stat", props.get("stat", ""))
        out.append(" ".join([names[1], *dims, f"({stat})"]))
    return out


def render(stack: str = "staging") -> str:
    body = dashboard_body(signals_for(stack))
    widgets = body["widgets"]
    width = 24 * UNIT_X
    height = HEADER + max(w["y"] + w["height"] for w in widgets) * UNIT_Y // 2 + PAD
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">',
        f'<rect width="{width}" height="{height}" fill="#f4f6f8"/>',
        f'<text x="{PAD}" y="22" font-size="15" font-weight="bold">'
        f"{escape(stack)}-golden-signals (CloudWatch: {escape(signals_for(stack).namespace)})</text>",
    ]
    for w in widgets:
        x, y = w["x"] * UNIT_X + PAD, HEADER + w["y"] * UNIT_Y // 2
        ww, hh = w["width"] * UNIT_X - 2 * PAD, w["height"] * UNIT_Y // 2 - PAD
        parts.append(f'<rect x="{x}" y="{y}" width="{ww}" height="{hh}" rx="4" fill="#fff" stroke="#aab"/>')
        title = escape(w["properties"]["title"])
        parts.append(f'<text x="{x + 8}" y="{y + 18}" font-size="12" font-weight="bold">{title}</text>')
        for i, line in enumerate(_lines(w)[:5]):
            parts.append(f'<text x="{x + 8}" y="{y + 36 + 13 * i}" font-size="10" fill="#345">{escape(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> None:
    stack = argv[0] if argv else "staging"
    OUT.write_text(render(stack))
    print(f"wrote {OUT.relative_to(harness.ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
