"""The event mapping on a varied, hostile corpus: every row is one PostgreSQL takes, and a real
database stores each record or rejects it alone. Corpus: seeded random Claude Code log records
over every ``CC_*`` attribute with hostile values (``tests.support.attribute_corpus``), the recorded
sessions' log requests, and the bench's events; both with prompt capture off and on.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from tests.support.attribute_corpus import VALUES
from tests.support.log_requests import make_log_requests
from traceability.exporter.codec.logs import decode_logs_json, decode_logs_protobuf
from traceability.exporter.codec.native_records import LogRecordData
from traceability.exporter.storage import database, native_mapping
from traceability.exporter.storage.native_writer import NativeWriter
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


@pytest.mark.parametrize("capture_prompts", [False, True])
def test_every_event_row_is_clean_text_and_finite(capture_prompts: bool) -> None:
    """What PostgreSQL would refuse never leaves the mapping; a record it cannot map raises
    ValueError (the writer rejects it alone)."""
    corpus = _corpus()
    assert len(corpus) > 2300
    rows = 0
    for record in corpus:
        try:
            row = native_mapping.event_row(record, capture_prompts)
        except ValueError:
            continue
        rows += 1
        for column, value in zip(native_mapping.EVENT_COLUMNS, row, strict=True):
            assert not isinstance(value, str) or (
                "\x00" not in value and value.encode("utf-8") is not None
            ), column
            assert not isinstance(value, float) or math.isfinite(value), (column, value)
    assert rows > 1000  # mostly rows, not errors


@pytest.mark.parametrize("capture_prompts", [False, True])
async def test_the_whole_corpus_is_stored_or_rejected_alone_by_postgresql(
    db_dsn: str, capture_prompts: bool
) -> None:
    corpus = _corpus()
    pool = await database.create_pool(db_dsn, json_codecs=False)  # what the collector uses
    try:
        result = await NativeWriter(pool, capture_prompts=capture_prompts).write_logs(corpus)
        stored = await pool.fetchval("SELECT count(*) FROM claude_code_events")
    finally:
        await pool.close()
    assert result.stored + len(result.rejected) == len(corpus)
    assert all(reason for _, reason in result.rejected)
    assert 0 < stored <= result.stored  # replays of one event id are stored once
