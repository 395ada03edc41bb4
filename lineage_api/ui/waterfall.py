"""The waterfall of one turn: its spans in tree order, each placed on the turn's time axis.

Pure functions over plain values, so the layout is tested without a database or a browser. A span
whose parent is not among the turn's spans hangs under the turn root; cycles (a corrupt parent
chain) cannot loop, because each span is placed once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SpanIn:
    """What the layout needs of one stored span."""

    span_id: str
    parent_span_id: str | None
    name: str
    kind: str  # hook | tool | subagent | session | rag | native | other
    status: str
    started_at: datetime
    duration_ms: float | None


@dataclass(frozen=True)
class Bar:
    """One row of the waterfall: the span, its depth, and its bar in percent of the axis."""

    span: SpanIn
    depth: int
    offset_pct: float
    width_pct: float
    has_children: bool
    ancestors: tuple[str, ...]  # span ids from the outermost down to the parent


@dataclass(frozen=True)
class Axis:
    start: datetime
    end: datetime

    @property
    def total_ms(self) -> float:
        return max((self.end - self.start).total_seconds() * 1000, 0.0)

    def ticks(self, count: int = 5) -> list[tuple[float, str]]:
        """``count + 1`` evenly spaced ticks as (percent, label)."""
        total = self.total_ms
        return [(100 * i / count, _format_ms(total * i / count)) for i in range(count + 1)]


def _format_ms(ms: float) -> str:
    if ms >= 60_000:
        return f"{ms / 60_000:.1f} min"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.0f} ms"


def _end(span: SpanIn) -> datetime:
    return span.started_at + timedelta(milliseconds=span.duration_ms or 0.0)


def axis_for(root_start: datetime, root_end: datetime | None, spans: Iterable[SpanIn]) -> Axis:
    """From the earliest start to the latest end of the root and every span."""
    spans = list(spans)
    start = min([root_start, *(s.started_at for s in spans)])
    end = max([root_end or root_start, *(_end(s) for s in spans)])
    return Axis(start, end)


def layout(spans: Sequence[SpanIn], axis: Axis) -> list[Bar]:
    """Spans depth-first, children by start time; bars at least 0.3% wide.

    The turn root lives in ``execution_traces``, not among ``spans``: spans whose parent is absent
    (the root, or a span that has not arrived) are the top level.
    """
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[SpanIn]] = defaultdict(list)
    for s in spans:
        parent = s.parent_span_id if s.parent_span_id in ids and s.parent_span_id != s.span_id else None
        children[parent].append(s)
    for group in children.values():
        group.sort(key=lambda s: (s.started_at, s.span_id))
    total = axis.total_ms or 1.0
    bars: list[Bar] = []
    placed: set[str] = set()

    def place(span: SpanIn, depth: int, ancestors: tuple[str, ...]) -> None:
        if span.span_id in placed:
            return
        placed.add(span.span_id)
        offset = (span.started_at - axis.start).total_seconds() * 1000
        width = span.duration_ms or 0.0
        offset_pct = min(max(100 * offset / total, 0.0), 100.0)
        width_pct = min(max(100 * width / total, 0.3), 100.0 - offset_pct) if offset_pct < 100 else 0.3
        kids = children.get(span.span_id, [])
        bars.append(Bar(span, depth, round(offset_pct, 3), round(width_pct, 3), bool(kids), ancestors))
        for child in kids:
            place(child, depth + 1, (*ancestors, span.span_id))

    for top in children.get(None, []):
        place(top, 0, ())
    for s in spans:  # members of a parent cycle, unreachable from the top
        place(s, 0, ())
    return bars
