"""`traceability dashboard render`: draw the Grafana dashboard to a PNG without Grafana.

Runs every panel's SQL (the same queries Grafana sends, macros expanded the same way) against the
database and lays the panels out on the dashboard's grid with matplotlib. It is a rendering of the
dashboard's queries, not a Grafana screenshot. Needs the docs extra: pip install
'pattern-traceability[docs]'.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from traceability.cli import options
from traceability.lineage_api.store import grafana_sql

BACKGROUND, PANEL, TEXT, MUTED, GRID = "#111217", "#181b1f", "#ccccdc", "#8e8e9c", "#2c3235"
PALETTE = ("#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a")
NAMED_COLORS = {"green": "#73bf69", "red": "#f2495c", "orange": "#ff9830"}
GRID_ROW_INCHES = 0.36
FIG_WIDTH_IN, MARGIN_IN, HEADER_IN, GAP_IN = 22.0, 0.3, 0.9, 0.12
# inside a panel: the title band on top, then room for a time series' tick labels (Grafana draws
# titles and axes inside the panel box; drawn outside they overprinted the panel above)
TITLE_BAND_IN, Y_LABELS_IN, X_LABELS_IN, RIGHT_LABELS_IN = 0.34, 0.8, 0.32, 0.7


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("dashboard", help="render the Grafana dashboard's queries to a PNG")
    actions = parser.add_subparsers(dest="action", required=True)
    render = actions.add_parser("render", help="run every panel's SQL and draw the dashboard (matplotlib)")
    render.add_argument("--out", default="dashboard.png", help="PNG to write (default: dashboard.png)")
    options.add_db_url(render, help="database (default: TRACEABILITY_DB_URL, else the one `up` runs)")
    render.add_argument("--days", type=float, default=14, help="time range: the last N days (default: 14)")
    render.add_argument(
        "--dashboard", type=Path, default=None, help="dashboard JSON (default: the one the package ships)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import matplotlib
    except ImportError:
        print(
            "traceability dashboard: needs matplotlib: pip install 'pattern-traceability[docs]'",
            file=sys.stderr,
        )
        return 2
    matplotlib.use("Agg")
    dsn = options.database_or_complain(args.db_url, "dashboard")
    if not dsn:
        return 2
    dashboard = grafana_sql.load_dashboard(args.dashboard)
    now = datetime.now(UTC)
    rng = grafana_sql.TimeRange.last(timedelta(days=args.days), now=now, max_points=84)
    results = asyncio.run(_run_all(dsn, dashboard, rng))
    render(dashboard, results, rng, Path(args.out))
    print(f"wrote {args.out} ({len(results)} panels, last {args.days:g} days)")
    return 0


async def _run_all(
    dsn: str, dashboard: dict[str, Any], rng: grafana_sql.TimeRange
) -> dict[int, tuple[list[str], list[tuple[Any, ...]]]]:
    import asyncpg

    from traceability.exporter.storage.database import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(dsn))
    try:
        return {
            q.panel_id: await grafana_sql.run_query(conn, q, rng)
            for q in grafana_sql.panel_queries(dashboard)
        }
    finally:
        await conn.close()


def render(
    dashboard: dict[str, Any],
    results: dict[int, tuple[list[str], list[tuple[Any, ...]]]],
    rng: grafana_sql.TimeRange,
    out: Path,
) -> None:
    import matplotlib.pyplot as plt

    panels = dashboard["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(
        figsize=(FIG_WIDTH_IN, rows * GRID_ROW_INCHES + HEADER_IN + MARGIN_IN), facecolor=BACKGROUND
    )
    fig.suptitle(
        f"{dashboard['title']}  ·  last {(rng.end - rng.start).days} days  ·  rendered from the dashboard's SQL "
        "(not a Grafana screenshot)",
        color=TEXT,
        fontsize=15,
        x=MARGIN_IN / FIG_WIDTH_IN,
        y=1 - 0.3 / fig.get_figheight(),
        ha="left",
        va="top",
    )
    for panel in panels:
        columns, data = results.get(panel["id"], ([], []))
        kind = panel["type"]
        ax = _panel_axes(fig, panel, with_axes=kind == "timeseries" and bool(data))
        if not data:
            ax.text(0.5, 0.5, "No data", color=MUTED, ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        elif kind == "stat":
            _stat(ax, panel, data[0][0])
        elif kind == "timeseries":
            _timeseries(ax, panel, columns, data, rng)
        else:
            _table(ax, panel, columns, data)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=BACKGROUND)
    plt.close(fig)


def _panel_axes(fig: Any, panel: dict[str, Any], *, with_axes: bool) -> Any:
    """The panel's box on the dashboard grid (24 columns, rows of GRID_ROW_INCHES), its title inside
    the box, and the axes to draw in: inset so that tick labels stay inside the box too."""
    from matplotlib.patches import Rectangle

    width_in, height_in = fig.get_figwidth(), fig.get_figheight()
    column_in = (width_in - 2 * MARGIN_IN) / 24
    pos = panel["gridPos"]
    left = MARGIN_IN + pos["x"] * column_in + GAP_IN / 2
    top = height_in - HEADER_IN - pos["y"] * GRID_ROW_INCHES - GAP_IN / 2
    width, height = pos["w"] * column_in - GAP_IN, pos["h"] * GRID_ROW_INCHES - GAP_IN
    bottom = top - height
    fig.add_artist(
        Rectangle(
            (left / width_in, bottom / height_in),
            width / width_in,
            height / height_in,
            transform=fig.transFigure,
            facecolor=PANEL,
            edgecolor=GRID,
            linewidth=0.8,
            zorder=-1,  # behind the panel's axes
        )
    )
    fig.text(
        (left + 0.1) / width_in,
        (top - 0.08) / height_in,
        panel["title"],
        color=TEXT,
        fontsize=10,
        ha="left",
        va="top",
    )
    inset_left, inset_bottom, inset_right = 0.08, 0.08, 0.08
    if with_axes:
        inset_left, inset_bottom = Y_LABELS_IN, X_LABELS_IN
        inset_right = RIGHT_LABELS_IN if _right_axis_series(panel) else 0.2
    ax = fig.add_axes(
        (
            (left + inset_left) / width_in,
            (bottom + inset_bottom) / height_in,
            (width - inset_left - inset_right) / width_in,
            (height - TITLE_BAND_IN - inset_bottom) / height_in,
        )
    )
    ax.set_facecolor(PANEL)
    for spine in ax.spines.values():
        spine.set_color(GRID if with_axes else PANEL)
    ax.tick_params(colors=MUTED, labelsize=8)
    return ax


def _right_axis_series(panel: dict[str, Any]) -> list[str]:
    """Series the panel's overrides put on a right-hand axis."""
    return [
        o["matcher"]["options"]
        for o in panel["fieldConfig"]["overrides"]
        if any(p["id"] == "custom.axisPlacement" and p["value"] == "right" for p in o["properties"])
    ]


def _unit(panel: dict[str, Any], column: str | None = None) -> str:
    unit = str(panel["fieldConfig"]["defaults"].get("unit", ""))
    for override in panel["fieldConfig"].get("overrides", []):
        matcher = override["matcher"]
        if column is not None and _matches(matcher, column):
            for prop in override["properties"]:
                if prop["id"] == "unit":
                    unit = prop["value"]
    return unit


def _matches(matcher: dict[str, str], column: str) -> bool:
    import re

    if matcher["id"] == "byName":
        return matcher["options"] == column
    return matcher["id"] == "byRegexp" and re.fullmatch(matcher["options"], column) is not None


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%m-%d %H:%M")
    if isinstance(value, int | float | Decimal):
        number = float(value)
        if unit == "percentunit":
            return f"{number * 100:.1f}%"
        if unit == "ms":
            return f"{number:.0f} ms" if number >= 100 else f"{number:.1f} ms"
        return f"{number:,.0f}" if number == int(number) else f"{number:.2f}"
    text = " ".join(str(value).split())  # one line per cell
    return text if len(text) <= 60 else text[:57] + "..."


def _stat(ax: Any, panel: dict[str, Any], value: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(
        0.5,
        0.42,
        _fmt(value, _unit(panel)),
        color=PALETTE[0],
        fontsize=26,
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontweight="bold",
    )


def _timeseries(
    ax: Any,
    panel: dict[str, Any],
    columns: list[str],
    data: list[tuple[Any, ...]],
    rng: grafana_sql.TimeRange,
) -> None:
    import matplotlib.dates as mdates

    times = [datetime.fromtimestamp(float(r[0]), UTC) for r in data]
    has_metric = "metric" in columns
    value_columns = [c for c in columns if c not in ("time", "metric")]
    series: dict[str, dict[datetime, float]] = {}
    for t, row in zip(times, data, strict=True):
        for c in value_columns:
            value = row[columns.index(c)]
            if value is None:
                continue
            name = f"{row[columns.index('metric')]}" if has_metric else c
            series.setdefault(name, {})[t] = float(value)
    defaults = panel["fieldConfig"]["defaults"].get("custom", {})
    right = _right_axis_series(panel)
    twin = ax.twinx() if right else None
    if twin is not None:
        twin.tick_params(colors=MUTED, labelsize=8)
    bucket_days = 0.8 * rng.interval_s / 86400
    bottoms: dict[datetime, float] = {}
    for i, (name, points) in enumerate(sorted(series.items(), key=lambda kv: -sum(kv[1].values()))):
        color = _series_color(panel, name, i)
        xs = sorted(points)
        ys = [points[x] for x in xs]
        target = twin if twin is not None and name in right else ax
        if name in right or defaults.get("drawStyle") == "bars":
            base = (
                [bottoms.get(x, 0.0) for x in xs]
                if defaults.get("stacking", {}).get("mode") == "normal"
                else None
            )
            target.bar(
                xs,
                ys,
                width=bucket_days,
                bottom=base,
                color=color,
                alpha=0.6 if name in right else 0.85,
                label=name,
            )
            if base is not None:
                for x, y in zip(xs, ys, strict=True):
                    bottoms[x] = bottoms.get(x, 0.0) + y
        else:
            target.plot(xs, ys, color=color, linewidth=1.4, marker="o", markersize=2.5, label=name)
    unit = _unit(panel)
    if unit == "percentunit":
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v * 100:.0f}%")
    elif unit == "ms":
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0f} ms")
    ax.set_xlim(rng.start, rng.end)
    day_or_hour = "%m-%d" if rng.end - rng.start > timedelta(days=2) else "%H:%M"
    # matplotlib leaves DateFormatter.__init__ unannotated
    ax.xaxis.set_major_formatter(mdates.DateFormatter(day_or_hour))  # type: ignore[no-untyped-call]
    ax.grid(color=GRID, linewidth=0.6)
    handles, labels = ax.get_legend_handles_labels()
    if twin is not None:
        more_handles, more_labels = twin.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    legend = ax.legend(
        handles,
        labels,
        fontsize=7,
        loc="upper left",
        ncol=min(4, max(1, len(labels))),
        facecolor=PANEL,
        edgecolor=GRID,
        framealpha=0.8,
    )
    for text in legend.get_texts():
        text.set_color(TEXT)


def _series_color(panel: dict[str, Any], name: str, index: int) -> str:
    for override in panel["fieldConfig"]["overrides"]:
        if _matches(override["matcher"], name):
            for prop in override["properties"]:
                if prop["id"] == "color":
                    return NAMED_COLORS.get(prop["value"].get("fixedColor"), PALETTE[index % len(PALETTE)])
    return PALETTE[index % len(PALETTE)]


def _table(ax: Any, panel: dict[str, Any], columns: list[str], data: list[tuple[Any, ...]]) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    fit = max(1, int(panel["gridPos"]["h"] * 1.25) - 2)
    cells = [[_fmt(v, _unit(panel, c)) for v, c in zip(row, columns, strict=True)] for row in data[:fit]]
    table = ax.table(
        cellText=cells,
        colLabels=columns,
        loc="upper center",
        cellLoc="left",
        colLoc="left",
        bbox=(0, 1 - min(1.0, (len(cells) + 1) / (fit + 1)), 1, min(1.0, (len(cells) + 1) / (fit + 1))),
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    widths = [max(len(str(c)), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    total = sum(widths)
    for (row, col), cell in table.get_celld().items():
        cell.set_edgecolor(GRID)
        cell.set_facecolor("#22252b" if row == 0 else PANEL)
        cell.get_text().set_color(TEXT if row else MUTED)
        cell.set_width(widths[col] / total)
        if row and columns[col] == "trend":
            value = data[row - 1][col]
            if value is not None:
                cell.get_text().set_color(
                    "#73bf69" if float(value) > 0 else "#f2495c" if float(value) < 0 else TEXT
                )
        if row and columns[col] == "trace id":
            cell.get_text().set_color("#6e9fff")
    if len(data) > fit:
        ax.text(
            1,
            -0.02,
            f"{len(data) - fit} more rows",
            color=MUTED,
            fontsize=7,
            ha="right",
            va="top",
            transform=ax.transAxes,
        )
