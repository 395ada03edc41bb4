"""Claude Code events -> rows: prompt text only with capture on and never a secret; ids stable."""

from __future__ import annotations

from traceability.exporter.codec.native_records import LogRecordData
from traceability.exporter.codec.records import AttrValue
from traceability.exporter.storage.native_mapping import EVENT_COLUMNS, event_row, event_row_id

SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def _prompt_event(text: str, **attrs: AttrValue) -> LogRecordData:
    return LogRecordData(
        time_unix_nano=1_796_152_140_230_000_000,
        observed_time_unix_nano=0,
        severity_number=0,
        severity_text="",
        body="claude_code.user_prompt",
        attributes={
            "event.name": "user_prompt",
            "event.sequence": 7,
            "session.id": "s1",
            "prompt.id": "p1",
            "prompt": text,
            "prompt_length": str(len(text)),
            **attrs,
        },
        trace_id="3c328c4a5109a33d4d9c760ddc2d7be3",
        span_id="ba32336464ed650f",
        resource={"service.name": "claude-code"},
    )


def _column(row: tuple[object, ...], name: str) -> object:
    return row[EVENT_COLUMNS.index(name)]


def test_prompt_text_is_kept_redacted_only_when_capture_is_on() -> None:
    event = _prompt_event(f"use {SECRET} to push", tool_input=f'{{"token": "{SECRET}"}}')
    on, off = event_row(event, capture_prompts=True), event_row(event, capture_prompts=False)
    assert _column(on, "prompt_text") == "use [REDACTED] to push"
    assert _column(off, "prompt_text") is None
    for row in (on, off):
        attributes = str(_column(row, "attributes"))
        assert SECRET not in attributes and "[REDACTED]" in attributes  # other attributes redacted too
        assert "use " not in attributes  # the prompt is never in the jsonb
    placeholder = event_row(_prompt_event("<REDACTED>"), capture_prompts=True)
    assert _column(placeholder, "prompt_text") is None  # Claude Code did not send the text


def test_event_ids_are_stable_and_distinct() -> None:
    assert event_row_id(_prompt_event("a")) == event_row_id(_prompt_event("a"))
    assert event_row_id(_prompt_event("a")) != event_row_id(_prompt_event("a", **{"event.sequence": 8}))
