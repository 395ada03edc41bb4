"""The span mapping on a varied, hostile corpus: every row is one PostgreSQL takes, and a real
database stores each span or rejects it alone.

The corpus: seeded random spans over every column attribute and many hostile values (long indexed
values, NUL, lone surrogates, non-finite numbers, JSON and not-JSON text, arrays, exception events,
links), the real OTel SDK's spans, and the recorded Claude Code requests decoded by the codec.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import asyncpg
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.support.attribute_corpus import VALUES
from tests.support.spans import make_turn
from traceability.exporter.codec.records import AttrValue, SpanEventRecord, SpanLinkRecord, SpanRecord
from traceability.exporter.codec.traces import decode_json, decode_request
from traceability.exporter.storage import database, mapping
from traceability.exporter.storage.native_mapping import is_native_span
from traceability.exporter.storage.writer import SpanWriter
from traceability.instrumentation import semconv as sc

NATIVE = Path(__file__).parents[1] / "fixtures" / "claude-code-native"

KEYS = [
    sc.SPAN_TYPE, sc.ROOT_ID, sc.PARENT_ID, sc.SESSION_ID, sc.USER_ID, sc.SOURCE, sc.PROMPT_TEXT,
    sc.PROMPT_ID, sc.TRACE_STATUS, sc.SUCCESS, sc.ERROR_TYPE, sc.CONTEXT, sc.TAGS, sc.HOOK_TYPE,
    sc.HOOK_NAME, sc.EXECUTION_ORDER, sc.GEN_AI_TOOL_NAME, sc.CODE_FILE_PATH, sc.STATUS, sc.INPUT_DATA,
    sc.OUTPUT_DATA, sc.MODIFICATIONS, sc.METADATA, sc.QUALITY_PERFORMED, sc.QUALITY_RESULTS,
    sc.QUALITY_SCORE, sc.QUALITY_VIOLATIONS, sc.QUALITY_CORRECTIONS, sc.QUALITY_DECISION, sc.RAG_PERFORMED,
    sc.RAG_RESULTS, sc.RAG_MATCHES, sc.RAG_CONFIDENCE, sc.RAG_TOP_PATTERN, sc.RAG_ERROR, sc.ERROR_MESSAGE,
    sc.ERROR_STACK, sc.GEN_AI_TOOL_CALL_ID, sc.GEN_AI_AGENT_ID, sc.DURATION_MS, "custom.a", "custom.b",
]  # fmt: skip


def _attrs(rng: random.Random) -> dict[str, AttrValue]:
    return {key: rng.choice(VALUES) for key in rng.sample(KEYS, rng.randint(0, len(KEYS)))}


def _span(rng: random.Random, n: int) -> SpanRecord:
    events = []
    if rng.random() < 0.3:
        exc = {sc.EXCEPTION_TYPE: "KeyError", sc.EXCEPTION_MESSAGE: rng.choice(VALUES)}
        events.append(SpanEventRecord(sc.EXCEPTION_EVENT_NAME, 5, {**exc, sc.EXCEPTION_STACKTRACE: "tb"}))
    if rng.random() < 0.3:
        events.append(SpanEventRecord("note", 6, _attrs(rng)))
    links = tuple(
        SpanLinkRecord(f"{n + 7:032x}", f"{n + 9:016x}", _attrs(rng)) for _ in range(rng.randint(0, 2))
    )
    start = 1_767_225_600_000_000_000 + n * 1000
    return SpanRecord(
        trace_id=f"{n // 4 + 1:032x}", span_id=f"{n + 1:016x}",
        parent_span_id=rng.choice([None, f"{n + 100:016x}"]), name=rng.choice(["s", "hook X", "", "n\x00"]),
        kind=rng.choice(["INTERNAL", "CLIENT"]), start_time_unix_nano=start,
        end_time_unix_nano=start + rng.choice([0, 5_000_000, 10**18]),
        status_code=rng.choice(["UNSET", "OK", "ERROR"]), status_message=rng.choice(["", "boom", "x\ud800"]),
        attributes=_attrs(rng), events=tuple(events),
        resource=rng.choice([{sc.SERVICE_NAME: "svc"}, {}, {"k": ("a", "b"), "n": float("nan")}]),
        scope_name="s", links=links,
    )  # fmt: skip


def _corpus() -> list[SpanRecord]:
    rng = random.Random(20261202)
    spans = [_span(rng, n) for n in range(3000)]
    spans += decode_request(encode_spans(make_turn(0xABC, hooks=5, failed_hook=2))).spans
    for path in sorted((NATIVE / "json" / "otlp").glob("*-traces.json")):
        spans += decode_json(path.read_bytes()).spans
    return spans


def _text_is_storable(value: object) -> bool:
    return not isinstance(value, str) or ("\x00" not in value and value.encode("utf-8") is not None)


@pytest.mark.parametrize("max_bytes", [16 * 1024 * 1024, 6000])
def test_every_row_of_a_hostile_corpus_is_clean_text_finite_and_valid_json(max_bytes: int) -> None:
    """What PostgreSQL would refuse never leaves the mapping: NUL, lone surrogates, non-finite
    numbers, invalid JSON in a jsonb column; a span over the stored-size cap is rejected alone."""
    corpus = _corpus()
    batch = mapping.map_spans(corpus, max_bytes)
    assert len(batch.hooks) > 1000 and len(batch.roots) > 100 and batch.placeholders  # a corpus with variety
    # hook rows have no text[] column: their size is counted without looking for lists
    assert not any(isinstance(v, list) for row in batch.hooks for v in row.values)
    for columns, json_columns, rows in (
        (mapping.HOOK_COLUMNS, mapping.HOOK_JSON_COLUMNS, batch.hooks),
        (mapping.TRACE_COLUMNS, mapping.TRACE_JSON_COLUMNS, [*batch.roots, *batch.placeholders]),
    ):
        for row in rows:
            for column, value in zip(columns, row.values, strict=True):
                assert _text_is_storable(value), (column, value)
                assert not isinstance(value, float) or math.isfinite(value), (column, value)
                if column in json_columns and value is not None:
                    json.loads(value, parse_constant=_refuse)
    # every span becomes a row (a root: its trace's row and its hook row) or is rejected with why
    mapped = {r.values[mapping.HOOK_COLUMNS.index("span_id")] for r in batch.hooks}
    rejected = {span.span_id for span, _ in batch.rejected}
    assert {s.span_id for s in corpus} - mapped - rejected == {
        s.span_id for s in corpus if mapping.is_root(s)
    } - rejected
    if max_bytes < 10_000:
        assert batch.rejected and all(
            "stored size" in reason or "bytes" in reason for _, reason in batch.rejected
        )


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} in a jsonb column")


async def test_the_whole_corpus_is_stored_or_rejected_alone_by_postgresql(db_dsn: str) -> None:
    corpus = _corpus()
    db_pool = await database.create_pool(db_dsn, json_codecs=False)  # what the collector uses
    try:
        await _store_and_count(db_pool, corpus)
    finally:
        await db_pool.close()


async def _store_and_count(db_pool: asyncpg.Pool, corpus: list[SpanRecord]) -> None:
    result = await SpanWriter(db_pool, max_span_bytes=6000).write(corpus)
    assert result.stored + len(result.rejected) == len(corpus)
    assert result.rejected and all(reason for _, reason in result.rejected)
    hooks = await db_pool.fetchval("SELECT count(*) FROM hook_executions")
    roots = await db_pool.fetchval("SELECT count(*) FROM execution_traces WHERE root_received")
    kept = mapping.map_spans([s for s in corpus if not is_native_span(s)], 6000)
    assert (hooks, roots) == (len(kept.hooks), len(kept.roots))
    native = await db_pool.fetchval("SELECT count(*) FROM claude_code_spans")
    assert native == len({s.span_id for s in corpus if is_native_span(s)}) > 0


def test_corpus_values_reach_every_column_kind() -> None:
    """The corpus is varied where it matters: shortened index values, rejected JSON text, tags arrays."""
    hooks = [
        dict(zip(mapping.HOOK_COLUMNS, r.values, strict=True)) for r in mapping.map_spans(_corpus()).hooks
    ]
    assert any("sha256:" in (h["session_id"] or "") for h in hooks)
    assert any(h["input_data"] == json.dumps('{"a": NaN}') for h in hooks)
    assert any(h["quality_score"] is None for h in hooks) and any(h["quality_score"] == 0.85 for h in hooks)
