"""Line charts as SVG geometry: series of (x, y) points scaled into a fixed view box.

The templates draw what this returns; every point also carries its value, so the page can show
the numbers themselves (a table under each chart, and ``data-value`` on each marker).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640.0, 200.0
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56.0, 12.0, 10.0, 26.0
PALETTE = ("#2f6fdf", "#d9480f", "#2b8a3e", "#ae3ec9", "#e67700", "#0b7285")


@dataclass(frozen=True)
class Point:
    x: float  # plot coordinates
    y: float
    label: str  # x as text
    value: float


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points))

    @property
    def markers(self) -> Markup:
        """One ``<circle>`` per point with its value, built here: a template loop over every point
        of a pattern page's charts cost more than the rest of the page's rendering."""
        name, color = escape(self.name), escape(self.color)
        return Markup(
            "".join(
                f'<circle class="pt" cx="{p.x}" cy="{p.y}" r="3" fill="{color}" data-series="{name}" '
                f'data-label="{escape(p.label)}" data-value="{p.value}"><title>{name} {escape(p.label)}: '
                f"{p.value}</title></circle>"
                for p in self.points
            )
        )


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    series: tuple[Series, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    width: float = WIDTH
    height: float = HEIGHT
    empty: bool = field(default=False)


def _nice_max(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.0f}%"
    if unit == "$":
        return f"${value:.4f}" if value < 1 else f"${value:.2f}"
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}{' ' + unit if unit else ''}"
    return f"{value:.2f}{' ' + unit if unit else ''}"


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    unit: str = "",
    y_max: float | None = None,
) -> Chart:
    """A chart of ``series`` (name, one value per label; ``None`` is a gap) over ``labels``."""
    values = [v for _, ys in series for v in ys if v is not None and math.isfinite(v)]
    if not labels or not values:
        return Chart(title, unit, (), (), (), empty=True)
    top = y_max if y_max is not None else _nice_max(max(values))
    inner_w, inner_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    step = inner_w / max(len(labels) - 1, 1)

    def x_at(i: int) -> float:
        return PAD_LEFT + (i * step if len(labels) > 1 else inner_w / 2)

    def y_at(v: float) -> float:
        return PAD_TOP + inner_h * (1 - min(max(v / top, 0.0), 1.0))

    drawn = []
    for index, (name, ys) in enumerate(series):
        points = tuple(
            Point(x_at(i), y_at(v), labels[i], v)
            for i, v in enumerate(ys)
            if v is not None and math.isfinite(v)
        )
        drawn.append(Series(name, PALETTE[index % len(PALETTE)], points))
    y_ticks = tuple((y_at(top * k / 4), _fmt(top * k / 4, unit)) for k in range(5))
    every = max(1, math.ceil(len(labels) / 6))
    x_ticks = tuple((x_at(i), labels[i]) for i in range(0, len(labels), every))
    return Chart(title, unit, tuple(drawn), y_ticks, x_ticks)
