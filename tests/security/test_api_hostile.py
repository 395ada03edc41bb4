"""Hostile input to the lineage API: deep or huge JSON, invalid UUIDs, NUL bytes, overlong strings
and SQL metacharacters are stored safely or rejected with a message, and the API keeps serving."""

from __future__ import annotations

import json
from urllib.parse import quote

from tests.support.db import afetch

JSON = {"Content-Type": "application/json"}


def _track(pattern_id: str, **extra: object) -> dict[str, object]:
    return {"event_type": "pattern_created", "pattern_id": pattern_id, "pattern_name": "f", **extra}


async def test_deep_json_is_rejected_with_a_message(make_client: object) -> None:
    client = await make_client()  # type: ignore[operator]
    deep = (
        b'{"event_type": "pattern_created", "pattern_id": "deep", "pattern_data": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}"
    )
    response = await client.post("/lineage/track", content=deep, headers=JSON)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]
    # a deep but parseable document is stored as sent
    nested: object = "leaf"
    for _ in range(200):
        nested = {"n": nested}
    ok = await client.post("/lineage/track", json=_track("deep-ok", pattern_data={"tree": nested}))
    assert ok.status_code == 200, ok.text
    assert (await client.get("/health")).status_code == 200


async def test_invalid_uuids_get_422_with_a_message(make_client: object) -> None:
    client = await make_client()  # type: ignore[operator]
    for bad in (
        "not-a-uuid",
        "00000000-0000-0000-0000-00000000000g",
        "'; DROP TABLE execution_traces; --",
        "1" * 300,
    ):
        response = await client.get(f"/traces/{quote(bad, safe='')}")
        assert response.status_code == 422, (bad, response.text)
        assert "correlation_id" in response.json()["error"]
    missing = await client.get("/traces/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]


async def test_nul_bytes_are_rejected_with_a_message_and_nothing_is_half_written(
    make_client: object, db_dsn: str
) -> None:
    client = await make_client()  # type: ignore[operator]
    for body in (
        _track("nul\x00id"),
        _track("nul-in-data", pattern_data={"code": "a\x00b"}),
        _track("nul-in-key", metadata={"k\x00": 1}),
        _track("nul-in-name", pattern_name="x\x00"),
    ):
        response = await client.post("/lineage/track", json=body)
        assert response.status_code == 400, response.text
        assert "NUL" in response.json()["error"]
    listing = await client.get("/patterns", params={"name": "a\x00b"})
    assert listing.status_code == 400 and "NUL" in listing.json()["error"]
    assert await afetch(db_dsn, "SELECT count(*) AS n FROM pattern_lineage_nodes") == [{"n": 0}]
    # in a batch, the bad event fails alone and the good ones are kept
    batch = await client.post(
        "/lineage/track/batch",
        json={
            "events": [_track("good-1"), _track("bad\x00"), _track("good-2")],
            "processing_mode": "sequential",
        },
    )
    assert batch.status_code == 200, batch.text
    summary = batch.json()["batch_summary"]
    assert (summary["successful_events"], summary["failed_events"]) == (2, 1)
    failed = batch.json()["failed_results"][0]
    assert failed["status_code"] == 400 and "NUL" in failed["error"]
    ids = await afetch(db_dsn, "SELECT pattern_id FROM pattern_lineage_nodes ORDER BY pattern_id")
    assert ids == [{"pattern_id": "good-1"}, {"pattern_id": "good-2"}]


async def test_overlong_strings_are_rejected_with_a_message(make_client: object) -> None:
    client = await make_client()  # type: ignore[operator]
    response = await client.post("/lineage/track", json=_track("p" * 256))
    assert response.status_code == 422
    assert "pattern_id" in response.json()["error"] and "255" in response.json()["error"]
    version = await client.post("/lineage/track", json=_track("ok", pattern_version="9" * 65))
    assert version.status_code == 422 and "pattern_version" in version.json()["error"]
    long_path = await client.get("/lineage/" + "q" * 10_000)
    assert long_path.status_code in (404, 414) and long_path.json()["error"]


async def test_sql_metacharacters_and_odd_text_are_stored_verbatim(make_client: object, db_dsn: str) -> None:
    client = await make_client()  # type: ignore[operator]
    hostile = [
        "x'; DROP TABLE pattern_lineage_nodes; --",
        'a" OR "1"="1',
        "$$ || pg_sleep(5) || $$",
        "%_\\%",
        "\u202e\U0001f4a9 \r\n forged",
        "💥" * 60,
    ]
    for pattern_id in hostile:
        created = await client.post(
            "/lineage/track",
            json=_track(pattern_id, pattern_data={"code": pattern_id}, metadata={pattern_id: pattern_id}),
        )
        assert created.status_code == 200, created.text
        read = await client.get("/lineage/" + quote(pattern_id, safe=""))
        assert read.status_code == 200, read.text
        assert read.json()["data"]["pattern_id"] == pattern_id
    rows = await afetch(db_dsn, "SELECT pattern_id, pattern_data, metadata FROM pattern_lineage_nodes")
    stored = {r["pattern_id"]: r for r in rows}
    assert set(stored) == set(hostile)
    for pattern_id in hostile:
        assert json.loads(stored[pattern_id]["pattern_data"])["code"] == pattern_id
    # LIKE wildcards in a filter match literally, not as patterns
    listing = await client.get("/patterns", params={"name": "%"})
    assert listing.status_code == 200
    assert await afetch(
        db_dsn, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'pattern_lineage_nodes'"
    ) == [{"n": 1}]
