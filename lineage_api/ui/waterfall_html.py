"""The waterfall's rows as HTML, built in Python: a 5,000-span turn is 5,000 rows, and a template
loop with filters per row costs ~30 us a row against ~5 here. Every stored value goes through
``markupsafe.escape``; ids, kinds and statuses are escaped too, though they come from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from markupsafe import Markup, escape

from traceability.lineage_api.ui.waterfall import Bar

_ROW = (
    '<li role="option" id="span-{id}" class="wf-row kind-{kind}" data-span="{id}" data-parent="{parent}" '
    'data-ancestors="{ancestors}" data-depth="{depth}" data-status="{status}" aria-selected="false">'
    '<span class="wf-name" style="padding-left: {indent}px">{toggle}'
    '<a href="?span={id}" tabindex="-1">{name}</a>'
    '<span class="status-text status-{status}">{label}</span></span>'
    '<span class="wf-axis"><span class="wf-bar kind-bg-{kind} status-edge-{status}" '
    'style="left: {left}%; width: {width}%" title="{duration}"></span>'
    '<span class="wf-dur{dur_class}" style="left: {dur_left}%">{duration}</span></span></li>\n'
)
LABEL_ROOM_PCT = 88.0  # a bar ending further right gets its duration label inside its start
_TOGGLE = '<button type="button" class="toggle" aria-expanded="true" aria-label="collapse" tabindex="-1">\u25be</button>'
_NO_TOGGLE = '<span class="toggle-space"></span>'


def rows_html(
    bars: Iterable[Bar], label: Callable[[str], str], duration: Callable[[float | None], str]
) -> Markup:
    """The ``<li>`` rows of the waterfall list; ``label`` and ``duration`` format status and time."""
    parts = []
    for bar in bars:
        span = bar.span
        status = escape(span.status)
        text = escape(duration(span.duration_ms))
        end = bar.offset_pct + bar.width_pct
        room = end <= LABEL_ROOM_PCT
        parts.append(
            _ROW.format(
                id=escape(span.span_id),
                kind=escape(span.kind),
                parent=escape(bar.ancestors[-1]) if bar.ancestors else "",
                ancestors=escape(" ".join(bar.ancestors)),
                depth=bar.depth,
                status=status,
                indent=bar.depth * 14,
                toggle=_TOGGLE if bar.has_children else _NO_TOGGLE,
                name=escape(span.name),
                label=escape(label(span.status)),
                left=bar.offset_pct,
                width=bar.width_pct,
                dur_left=end if room else bar.offset_pct,
                dur_class="" if room else " inside",
                duration=text,
            )
        )
    return Markup("".join(parts))
