"""The overview page: the Grafana dashboard's panels, from the same SQL, drawn in the browser.

Each panel's query is the one Grafana sends (macros expanded the same way by ``grafana_sql``), so
a one-machine user sees the numbers a team sees in Grafana. Stat panels become figures, tables
become tables (trace ids link to their turn), time series become line charts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from traceability.lineage_api.store import grafana_sql
from traceability.lineage_api.ui import charts


@dataclass(frozen=True)
class Panel:
    panel_id: int
    title: str
    kind: str  # stat | table | chart
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    chart: charts.Chart | None
    figure: str | None


def _number(value: Any) -> float | None:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _cell(value: Any) -> Any:
    """A table cell for display: numbers as floats (not Decimal), times in UTC."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value


def _figure(title: str, value: Any) -> str:
    number = _number(value)
    if number is None:
        return "-"
    if "rate" in title.lower():
        return f"{number * 100:.1f}%"
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:.2f}"


def _time_series(title: str, columns: list[str], rows: list[tuple[Any, ...]], unit: str) -> charts.Chart:
    """Long (time, metric, value) or wide (time, v1, v2, ...) rows as one line per series."""
    times = sorted({r[0] for r in rows})
    labels = [_label(t) for t in times]
    position = {t: i for i, t in enumerate(times)}
    series: dict[str, list[float | None]] = {}
    long_format = len(columns) == 3 and bool(rows) and isinstance(rows[0][1], str)
    if long_format:
        for t, name, value in rows:
            series.setdefault(str(name), [None] * len(times))[position[t]] = _number(value)
    else:
        for index, column in enumerate(columns[1:], start=1):
            values: list[float | None] = [None] * len(times)
            for r in rows:
                values[position[r[0]]] = _number(r[index])
            series[column] = values
    return charts.line_chart(title, labels, list(series.items()), unit=unit)


def _label(t: Any) -> str:
    if isinstance(t, datetime):
        return t.strftime("%m-%d %H:%M")
    number = _number(t)
    if number is not None:
        return datetime.fromtimestamp(number, tz=UTC).strftime("%m-%d %H:%M")
    return str(t)


def _unit(title: str) -> str:
    lowered = title.lower()
    if "rate" in lowered:
        return "%"
    if "latency" in lowered or " ms" in lowered:
        return "ms"
    return ""


async def panels(conn: asyncpg.Connection, *, now: datetime, days: int) -> list[Panel]:
    """Every panel of the shipped dashboard over the last ``days`` days before ``now``."""
    dashboard = grafana_sql.load_dashboard()
    rng = grafana_sql.TimeRange.last(timedelta(days=days), now=now, max_points=84)
    out = []
    for query in grafana_sql.panel_queries(dashboard):
        columns, rows = await grafana_sql.run_query(conn, query, rng)
        if query.panel_type == "stat":
            value = rows[0][0] if rows and rows[0] else None
            out.append(
                Panel(
                    query.panel_id, query.title, "stat", tuple(columns), (), None, _figure(query.title, value)
                )
            )
        elif query.panel_type == "timeseries":
            chart = _time_series(query.title, columns, rows, _unit(query.title))
            out.append(Panel(query.panel_id, query.title, "chart", tuple(columns), (), chart, None))
        else:
            cells = tuple(tuple(_cell(v) for v in row) for row in rows)
            out.append(Panel(query.panel_id, query.title, "table", tuple(columns), cells, None, None))
    return out
