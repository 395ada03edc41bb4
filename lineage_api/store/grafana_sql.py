"""Run the SQL of the shipped Grafana dashboards outside Grafana.

Grafana's PostgreSQL datasource rewrites a few macros before it sends a panel's query; this module
does the same rewriting for the macros our dashboards use, so the queries can be checked against
a real database (tests) and rendered without Grafana (`traceability dashboard render`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

# The dashboard ships inside the package (docker-compose mounts that folder into Grafana), so the
# web UI's overview and ``traceability dashboard render`` work from a wheel as from a checkout.
DASHBOARDS = resources.files("traceability.lineage_api.ui") / "dashboards"
MAIN_DASHBOARD = "pattern-traceability.json"

_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Grafana's interval ladder (a subset): the bucket width it picks for a range and a point budget.
_NICE_INTERVALS_S = (
    1,
    5,
    10,
    15,
    30,
    60,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    604800,
)


@dataclass(frozen=True)
class TimeRange:
    start: datetime  # timezone-aware
    end: datetime
    interval_s: int

    @classmethod
    def around(cls, start: datetime, end: datetime, max_points: int = 120) -> TimeRange:
        """The range with the bucket width Grafana would choose for ``max_points`` points."""
        wanted = (end - start).total_seconds() / max_points
        interval = next((i for i in _NICE_INTERVALS_S if i >= wanted), _NICE_INTERVALS_S[-1])
        return cls(start, end, interval)

    @classmethod
    def last(cls, span: timedelta, *, now: datetime, max_points: int = 120) -> TimeRange:
        return cls.around(now - span, now, max_points)


@dataclass(frozen=True)
class PanelQuery:
    panel_id: int
    title: str
    panel_type: str  # timeseries | table | stat | ...
    fmt: str  # time_series | table
    sql: str
    override_names: tuple[str, ...]  # columns the panel's field overrides name (byName)
    override_patterns: tuple[str, ...]  # and match (byRegexp)


def parse_interval(text: str) -> float:
    match = re.fullmatch(r"\s*'?(\d+(?:\.\d+)?)(ms|s|m|h|d|w)'?\s*", text)
    if not match:
        raise ValueError(f"not a Grafana interval: {text!r}")
    return float(match.group(1)) * _UNITS_S[match.group(2)]


def _quote_time(moment: datetime) -> str:
    return "'" + moment.isoformat() + "'"


def expand_macros(sql: str, rng: TimeRange) -> str:
    """Rewrite the Grafana PostgreSQL macros ($__timeFilter, $__timeGroupAlias, ...) and $__interval."""
    sql = sql.replace("$__interval_ms", str(rng.interval_s * 1000)).replace(
        "$__interval", f"{rng.interval_s}s"
    )

    def time_group(args: str, alias: bool) -> str:
        column, _, interval = args.partition(",")
        seconds = parse_interval(interval)
        expr = f"floor(extract(epoch from {column.strip()})/{seconds:g})*{seconds:g}"
        return expr + (' AS "time"' if alias else "")

    sql = re.sub(r"\$__timeGroupAlias\(([^()]*)\)", lambda m: time_group(m.group(1), True), sql)
    sql = re.sub(r"\$__timeGroup\(([^()]*)\)", lambda m: time_group(m.group(1), False), sql)
    sql = re.sub(
        r"\$__timeFilter\(([^()]*)\)",
        lambda m: f"{m.group(1).strip()} BETWEEN {_quote_time(rng.start)} AND {_quote_time(rng.end)}",
        sql,
    )
    sql = re.sub(r"\$__time\(([^()]*)\)", lambda m: f'{m.group(1).strip()} AS "time"', sql)
    sql = sql.replace("$__timeFrom()", _quote_time(rng.start)).replace("$__timeTo()", _quote_time(rng.end))
    leftover = re.search(r"\$__\w+", sql)
    if leftover:
        raise ValueError(f"unsupported Grafana macro {leftover.group(0)}")
    return sql


def load_dashboard(path: Path | None = None) -> dict[str, Any]:
    """A dashboard JSON file, by default the one shipped in the package (read as a package resource)."""
    text = path.read_text() if path is not None else (DASHBOARDS / MAIN_DASHBOARD).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def variables(dashboard: dict[str, Any]) -> dict[str, str]:
    """The dashboard's template variables and their current values (textbox / constant)."""
    out: dict[str, str] = {}
    for var in dashboard.get("templating", {}).get("list", []):
        current = var.get("current", {}).get("value", var.get("query", ""))
        out[str(var["name"])] = str(current)
    return out


def interpolate(sql: str, values: dict[str, str]) -> str:
    """Replace ``${name}`` and ``$name`` by the variable's value, as Grafana does before a query."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$([A-Za-z_]\w*)", value, sql)


def panel_queries(dashboard: dict[str, Any]) -> list[PanelQuery]:
    """Every SQL target of every panel (rows' nested panels included), variables interpolated."""
    values = variables(dashboard)
    queries = []
    panels = list(dashboard.get("panels", []))
    while panels:
        panel = panels.pop(0)
        panels.extend(panel.get("panels", []))
        overrides = panel.get("fieldConfig", {}).get("overrides", [])
        names = tuple(o["matcher"]["options"] for o in overrides if o["matcher"]["id"] == "byName")
        patterns = tuple(o["matcher"]["options"] for o in overrides if o["matcher"]["id"] == "byRegexp")
        for target in panel.get("targets", []):
            if "rawSql" in target:
                queries.append(
                    PanelQuery(
                        panel_id=int(panel["id"]),
                        title=str(panel["title"]),
                        panel_type=str(panel["type"]),
                        fmt=str(target.get("format", "time_series")),
                        sql=interpolate(str(target["rawSql"]), values),
                        override_names=names,
                        override_patterns=patterns,
                    )
                )
    return queries


async def run_query(conn: Any, query: PanelQuery, rng: TimeRange) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and rows the panel's query returns (an asyncpg connection)."""
    statement = await conn.prepare(expand_macros(query.sql, rng))
    columns = [attr.name for attr in statement.get_attributes()]
    rows = [tuple(record) for record in await statement.fetch()]
    return columns, rows
