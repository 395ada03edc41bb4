"""Names where ids are expected (exact pattern_name; ambiguity is a 409 listing the candidates),
names drawn next to ids, and finding a turn's trace by session, prompt id or prompt text."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from typing import Any

import httpx

from tests.support.scripted_session import ScriptedSession
from traceability.instrumentation import semconv

TRACK = "/lineage/track"


async def _track(client: httpx.AsyncClient, **event: Any) -> None:
    r = await client.post(TRACK, json={"event_type": "pattern_created", **event})
    assert r.status_code == 200, r.text


async def _patterns(client: httpx.AsyncClient) -> None:
    await _track(client, pattern_id="a1", pattern_name="load_config", file_path="/r/a.py")
    await _track(client, pattern_id="b2", pattern_name="load_config", file_path="/r/b.py")
    await _track(client, pattern_id="c3", pattern_name="compute_tax", file_path="/r/tax.py")
    r = await client.post(
        TRACK, json={"event_type": "pattern_modified", "pattern_id": "c3", "pattern_version": "1.1.0"}
    )
    assert r.status_code == 200, r.text
    await _track(  # derived from the newest version of c3, 1.1.0
        client,
        pattern_id="c4",
        pattern_name="Tax v2",
        parent_pattern_ids=["c3"],
        edge_type="derived_from",
        transformation_type="optimization",
    )


async def test_an_exact_name_resolves_where_a_pattern_id_is_expected(client: httpx.AsyncClient) -> None:
    await _patterns(client)
    by_id = (await client.get("/lineage/c3")).json()["data"]
    by_name = (await client.get("/lineage/compute_tax")).json()["data"]
    assert by_name == {**by_id, "from_cache": by_name["from_cache"]}
    assert (by_name["pattern_id"], by_name["pattern_name"], by_name["pattern_version"]) == (
        "c3",
        "compute_tax",
        "1.1.0",
    )
    evolution = (await client.get("/lineage/compute_tax/evolution")).json()["data"]
    assert evolution["pattern_id"] == "c3" and evolution["total_versions"] == 2
    down = (await client.get("/lineage/compute_tax", params={"query_type": "descendants"})).json()
    assert [d["descendant_pattern_id"] for d in down["data"]["descendants"]] == ["c4"]
    analytics = await client.post("/analytics/compute", json={"pattern_id": "compute_tax"})
    assert analytics.status_code == 200 and analytics.json()["pattern_id"] == "c3"
    assert (await client.get("/analytics/compute_tax")).json()["pattern_id"] == "c3"
    feedback = await client.post("/feedback/analyze", json={"pattern_id": "compute_tax", "auto_apply": False})
    assert feedback.status_code == 200 and feedback.json()["data"]["pattern_id"] == "c3"
    assign = await client.get("/feedback/assign", params={"pattern_id": "compute_tax", "session_id": "s"})
    assert assign.status_code == 200 and assign.json()["data"]["pattern_id"] == "c3"
    # a name that is nobody's is the usual 404
    r = await client.get("/lineage/nobody_has_this")
    assert (r.status_code, r.json()["error"]) == (404, "pattern 'nobody_has_this' not found")


async def test_an_ambiguous_name_is_a_409_listing_the_candidates(client: httpx.AsyncClient) -> None:
    await _patterns(client)
    for method, path, kwargs in (
        ("GET", "/lineage/load_config", {}),
        ("GET", "/lineage/load_config/evolution", {}),
        ("POST", "/analytics/compute", {"json": {"pattern_id": "load_config"}}),
        ("POST", "/feedback/analyze", {"json": {"pattern_id": "load_config"}}),
        ("POST", "/feedback/apply", {"params": {"pattern_id": "load_config"}}),
        ("GET", "/feedback/assign", {"params": {"pattern_id": "load_config", "session_id": "s"}}),
    ):
        r = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 409, (path, r.text)
        body = r.json()
        assert body["error"] == (
            "pattern name 'load_config' is ambiguous: 2 patterns have it: a1 (version 1.0.0, /r/a.py), "
            "b2 (version 1.0.0, /r/b.py); use one of these pattern ids"
        )
        assert [c["pattern_id"] for c in body["metadata"]["candidates"]] == ["a1", "b2"]


async def test_an_id_wins_over_a_name(client: httpx.AsyncClient) -> None:
    """A pattern whose id is another pattern's name: the id is what callers have always meant."""
    await _track(client, pattern_id="helper", pattern_name="Helper one")
    await _track(client, pattern_id="h2", pattern_name="helper")
    assert (await client.get("/lineage/helper")).json()["data"]["pattern_id"] == "helper"
    assert (await client.get("/lineage/Helper one")).json()["data"]["pattern_id"] == "helper"


async def test_drawings_show_names_next_to_ids(client: httpx.AsyncClient) -> None:
    await _patterns(client)
    tree = (await client.get("/lineage/Tax v2", params={"format": "tree"})).text
    assert (
        tree
        == "Tax v2 (c4@1.0.0)  (generation 3)\n└─ derived_from (optimization) <- compute_tax (c3@1.1.0)\n"
        "   └─ modified_from (refactor) <- compute_tax (c3@1.0.0)\n"
    )
    mermaid = (await client.get("/lineage/c4", params={"format": "mermaid"})).text
    assert '["Tax v2 (c4@1.0.0)"]' in mermaid and '["compute_tax (c3@1.1.0)"]' in mermaid


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", *args], capture_output=True, text=True, timeout=60
    )


async def test_lineage_show_takes_a_name(live_api: str) -> None:
    async with httpx.AsyncClient(base_url=live_api + "/api/pattern-traceability") as client:
        await _patterns(client)
    show = await asyncio.to_thread(_cli, "lineage", "show", "compute_tax", "--descendants", "--url", live_api)
    assert (show.returncode, show.stdout) == (
        0,
        "compute_tax (c3@1.1.0)  (generation 2)\n└─ derived_from (optimization) -> Tax v2 (c4@1.0.0)\n",
    )
    show = await asyncio.to_thread(
        _cli, "lineage", "show", "compute_tax", "--version", "1.0.0", "--descendants", "--url", live_api
    )
    assert (
        show.stdout
        == "compute_tax (c3@1.0.0)  (generation 1)\n└─ modified_from (refactor) -> compute_tax (c3@1.1.0)\n"
        "   └─ derived_from (optimization) -> Tax v2 (c4@1.0.0)\n"
    )
    ambiguous = await asyncio.to_thread(_cli, "lineage", "show", "load_config", "--url", live_api)
    assert (
        ambiguous.returncode == 1
        and "a1 (version 1.0.0, /r/a.py), b2 (version 1.0.0, /r/b.py)" in ambiguous.stderr
    )


def _turn(session: ScriptedSession, prompt_id: str, prompt: str) -> str:
    trace_id = session.turn(**{semconv.PROMPT_ID: prompt_id, semconv.PROMPT_TEXT: prompt})
    session.tool("Write", f"/repo/{prompt_id}.py", f"def f_{prompt_id}():\n    return 1\n")
    return trace_id


async def test_traces_list_finds_a_turn_by_session_prompt_id_or_text(
    client: httpx.AsyncClient, live_api: str, db_dsn: str
) -> None:
    one = ScriptedSession()
    other = ScriptedSession(session_id="not-a-uuid-session", clock_ns=one.clock_ns + 100 * 10**9)
    first = _turn(one, "p1", "Add compute_tax to billing/tax.py")
    second = _turn(one, "p2", "Run the 100% tests_for tax")
    third = _turn(other, "p3", "Where is load_config used?")
    await one.flush(db_dsn)
    await other.flush(db_dsn)

    async def found(**params: Any) -> list[str]:
        r = await client.get("/traces", params=params)
        assert r.status_code == 200, r.text
        return [t["jaeger_trace_id"] for t in r.json()["data"]["traces"]]

    assert await found() == [third, second, first]  # newest first
    assert await found(session_id=one.session_id) == [second, first]
    assert await found(session_id="not-a-uuid-session") == [third]
    assert await found(prompt_id="p2") == [second]
    assert await found(prompt="COMPUTE_TAX") == [first]
    assert await found(prompt="100%") == [second] and await found(prompt="s_f") == [second]  # % and _ literal
    assert await found(kind="turn", limit=1) == [third] and await found(kind="session") == []
    page = (await client.get("/traces", params={"limit": 2})).json()["data"]
    assert (page["total"], page["next_offset"]) == (3, 2)
    row = (await client.get("/traces", params={"prompt_id": "p1"})).json()["data"]["traces"][0]
    assert row["correlation_id"] == str(uuid.UUID(first)) and row["tool_calls"] == 1
    assert row["session_id"] == one.session_id and row["jaeger_url"].endswith("/trace/" + first)
    assert row["prompt"] == "Add compute_tax to billing/tax.py"
    bad = await client.get(
        "/traces", params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    )
    assert bad.status_code == 400

    listing = await asyncio.to_thread(_cli, "traces", "list", "--session", one.session_id, "--url", live_api)
    lines = listing.stdout.splitlines()
    assert listing.returncode == 0 and lines[0].split() == [
        "started",
        "(UTC)",
        "trace",
        "id",
        "status",
        "tools",
        "session",
        "prompt",
    ]
    assert [line.split()[2] for line in lines[1:3]] == [second, first]
    assert lines[2].endswith("Add compute_tax to billing/tax.py")
    show = await asyncio.to_thread(_cli, "traces", "show", first, "--url", live_api)
    assert show.returncode == 0 and f"trace {first}" in show.stdout
    assert "  Jaeger  not configured (set JAEGER_UI_URL to link it)" in show.stdout.splitlines()
    assert "execute_tool Write" in show.stdout and "pattern " not in show.stdout.split("Jaeger")[0]
    tool_line = next(line for line in show.stdout.splitlines() if "execute_tool Write" in line)
    assert tool_line.split()[2:5] == ["hooks", "execute_tool", "Write"]  # date, time to the ms, origin, name
    span_id = tool_line.split()[-1]
    whole = await asyncio.to_thread(_cli, "traces", "show", first, "--span", span_id, "--url", live_api)
    span = json.loads(whole.stdout)
    assert whole.returncode == 0 and (span["origin"], span["span"]["span_id"]) == ("hooks", span_id)
    assert span["span"]["attributes"][semconv.CODE_CONTENT] == "def f_p1():\n    return 1\n"
    as_json = await asyncio.to_thread(_cli, "traces", "show", first, "--json", "--url", live_api)
    full = await asyncio.to_thread(_cli, "traces", "show", first, "--json", "--full", "--url", live_api)
    assert json.loads(as_json.stdout)["hook_executions"] is None
    assert [h["span_id"] for h in json.loads(full.stdout)["hook_executions"]] == [span_id]
    missing = await asyncio.to_thread(_cli, "traces", "show", uuid.uuid4().hex, "--url", live_api)
    assert missing.returncode == 1 and "not found" in missing.stderr
