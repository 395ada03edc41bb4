"""The reworked event mapping stores exactly the rows the previous one stored, for a varied corpus.

Oracle: ``tests/support/reference_native_mapping.py``. Corpus: seeded random Claude Code log records
over every ``CC_*`` attribute with hostile values (``tests.support.attribute_corpus``), the recorded
sessions' log requests, and the bench's events; both with prompt capture off and on.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import reference_native_mapping
from tests.support.attribute_corpus import VALUES
from tests.support.log_requests import make_log_requests
from traceability.exporter.codec.logs import decode_logs_json, decode_logs_protobuf
from traceability.exporter.codec.native_records import LogRecordData
from traceability.exporter.storage import native_mapping
from traceability.instrumentation import semconv as sc

NATIVE = Path(__file__).parents[1] / "fixtures" / "claude-code-native"
KEYS = sorted({v for k, v in vars(sc).items() if k.startswith("CC_") and isinstance(v, str)})
KEYS += [sc.SESSION_ID, sc.PROMPT_ID, "custom.a"]


def _corpus() -> list[LogRecordData]:
    rng = random.Random(20261202)
    records = [
        LogRecordData(
            time_unix_nano=n + 1,
            observed_time_unix_nano=rng.choice([0, n + 2]),
            severity_number=9,
            severity_text=rng.choice(["", "INFO", "a\x00"]),
            body=rng.choice(VALUES),
            attributes={k: rng.choice(VALUES) for k in rng.sample(KEYS, rng.randint(0, len(KEYS)))},
            trace_id=rng.choice([None, f"{n + 1:032x}"]),
            span_id=rng.choice([None, f"{n + 1:016x}"]),
            resource=rng.choice([{}, {sc.SERVICE_NAME: "claude-code"}]),
            scope_name=sc.CC_EVENTS_SCOPE,
        )
        for n in range(2000)
    ]
    for path in sorted((NATIVE / "json" / "otlp").glob("*-logs.json")):
        records += decode_logs_json(path.read_bytes()).records
    for body in make_log_requests(300, 100, seed=1):
        records += decode_logs_protobuf(body).records
    return records


def _outcome(event_row: Callable[[LogRecordData, bool], Any], record: LogRecordData, capture: bool) -> Any:
    """The row, or the error (a record the mapping cannot take is rejected alone by the writer)."""
    try:
        return event_row(record, capture)
    except ValueError as exc:
        return repr(exc)


@pytest.mark.parametrize("capture_prompts", [False, True])
def test_event_rows_equal_the_previous_mapping(capture_prompts: bool) -> None:
    corpus = _corpus()
    assert len(corpus) > 2300
    outcomes = [_outcome(native_mapping.event_row, r, capture_prompts) for r in corpus]
    assert outcomes == [_outcome(reference_native_mapping.event_row, r, capture_prompts) for r in corpus]
    assert sum(isinstance(o, tuple) for o in outcomes) > 1000  # mostly rows, not errors
