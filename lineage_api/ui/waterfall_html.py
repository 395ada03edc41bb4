"""The waterfall's rows as HTML, built in Python: a 5,000-span turn is 5,000 rows, and a template
loop with filters per row costs ~30 us a row against ~2 here. Every stored value is escaped with
``markupsafe.escape``; a turn repeats few names, kinds, statuses and parents, so each distinct
text is escaped once per page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from markupsafe import Markup, escape

from traceability.lineage_api.ui.waterfall import Bar

LABEL_ROOM_PCT = 88.0  # a bar ending further right gets its duration label inside its start
_TOGGLE = '<button type="button" class="toggle" aria-expanded="true" aria-label="collapse" tabindex="-1">\u25be</button>'
_NO_TOGGLE = '<span class="toggle-space"></span>'


def rows_html(
    bars: Iterable[Bar], label: Callable[[str], str], duration: Callable[[float | None], str]
) -> Markup:
    """The ``<li>`` rows of the waterfall list; ``label`` and ``duration`` format status and time."""
    escaped: dict[object, str] = {}

    def esc(text: str) -> str:
        out = escaped.get(text)
        if out is None:
            out = escaped[text] = str(escape(text))
        return out

    labels: dict[str, str] = {}
    parts = []
    for bar in bars:
        span = bar.span
        status = span.status
        label_text = labels.get(status)
        if label_text is None:
            label_text = labels[status] = esc(label(status))
        end = bar.offset_pct + bar.width_pct
        room = end <= LABEL_ROOM_PCT
        ancestors = bar.ancestors
        span_id = span.span_id
        sid = span_id if span_id.isalnum() else esc(span_id)
        kind = esc(span.kind)
        state = esc(status)
        text = esc(duration(span.duration_ms))
        parts.append(
            f'<li role="option" id="span-{sid}" class="wf-row kind-{kind}" data-span="{sid}" '
            f'data-parent="{esc(ancestors[-1]) if ancestors else ""}" '
            f'data-ancestors="{esc(" ".join(ancestors)) if ancestors else ""}" data-depth="{bar.depth}" '
            f'data-status="{state}" aria-selected="false">'
            f'<span class="wf-name" style="padding-left: {bar.depth * 14}px">'
            f"{_TOGGLE if bar.has_children else _NO_TOGGLE}"
            f'<a href="?span={sid}" tabindex="-1">{esc(span.name)}</a>'
            f'<span class="status-text status-{state}">{label_text}</span></span>'
            f'<span class="wf-axis"><span class="wf-bar kind-bg-{kind} status-edge-{state}" '
            f'style="left: {bar.offset_pct}%; width: {bar.width_pct}%" title="{text}"></span>'
            f'<span class="wf-dur{"" if room else " inside"}" style="left: {end if room else bar.offset_pct}%">'
            f"{text}</span></span></li>\n"
        )
    return Markup("".join(parts))
