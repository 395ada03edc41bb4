"""Claude Code's own spans in the turn's waterfall: joined to the hook turn, or alone without hooks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.collector import Collector, start_collector, stop_collector, wait_until
from tests.support.hooks import HookEnv
from tests.support.native import drained, native_trace_id, place_in_spool, post
from tests.support.native_recorded import OtlpBody, hook_payloads, otlp_bodies


@pytest.fixture
def collector(db_dsn: str, tmp_path: Path) -> Iterator[Collector]:
    spool = tmp_path / "spool"
    spool.mkdir()
    running = start_collector(db_dsn, spool, tmp_path / "collector.log")
    try:
        yield running
    finally:
        stop_collector(running)


def _rows(page: str) -> dict[str, tuple[str, str]]:
    """span id -> (parent span id, kind) of every waterfall row."""
    return {
        m[0]: (m[2], m[1])
        for m in re.findall(
            r'id="span-([0-9a-f]+)" class="wf-row kind-([a-z]+)" data-span="[0-9a-f]+" data-parent="([0-9a-f]*)"',
            page,
        )
    }


def _bodies() -> list[OtlpBody]:
    return otlp_bodies("json")


async def test_native_spans_join_the_hook_turn_under_their_tool(
    ui: httpx.AsyncClient, collector: Collector, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    hook = HookEnv(tmp_path / "hook")
    hook.replay(hook_payloads("json"))
    for path in sorted(hook.spool.glob("*.json")):
        place_in_spool(path, collector.spool_dir)
    bodies = _bodies()
    for body in bodies:
        post(collector, body)
    wait_until(lambda: drained(collector), what="spool drained")
    native = native_trace_id(bodies)
    turn = await db_pool.fetchrow(
        "SELECT correlation_id, id, prompt_id FROM execution_traces WHERE native_trace_id = $1", native
    )
    assert turn is not None
    page = await ui.get(f"/turns/{turn['correlation_id'].hex}")
    assert page.status_code == 200
    rows = _rows(page.text)
    spans = await db_pool.fetch(
        "SELECT span_id, span_type, tool_use_id, parent_span_id FROM claude_code_spans WHERE trace_id = $1",
        native,
    )
    hooks = await db_pool.fetch(
        "SELECT span_id, tool_use_id, span_type FROM hook_executions WHERE trace_id = $1", turn["id"]
    )
    assert {s["span_id"] for s in spans} <= set(rows) and {h["span_id"] for h in hooks} <= set(rows)
    ours = {h["tool_use_id"]: h["span_id"] for h in hooks if h["span_type"] == "tool"}
    for s in spans:
        assert rows[s["span_id"]][1] == "native"
        if s["span_type"] == "tool":
            assert rows[s["span_id"]][0] == ours[s["tool_use_id"]], (
                "a native tool span nests under our tool span"
            )
    calls = await db_pool.fetchval(
        "SELECT count(*) FROM claude_code_events WHERE prompt_id = $1 AND event_name = 'api_request'",
        turn["prompt_id"],
    )
    assert calls > 0 and f'data-total="llm_calls">{calls}<' in page.text
    redirect = await ui.get(f"/turns/{native.hex}")
    assert (
        redirect.status_code == 303 and redirect.headers["location"] == f"/turns/{turn['correlation_id'].hex}"
    )
    llm = next(s for s in spans if s["span_type"] == "llm_request")
    details = await ui.get(f"/turns/{turn['correlation_id'].hex}/spans/{llm['span_id']}")
    assert details.status_code == 200 and "Claude Code's own span (llm_request)" in details.text
    as_json = re.findall(r'href="(/api/pattern-traceability/traces/[^"]+/spans/[^"]+)"', details.text)
    span = (await ui.get(as_json[0])).json()["data"]
    assert (span["origin"], span["span"]["span_id"], span["span"]["span_type"]) == (
        "native", llm["span_id"], "llm_request",
    )  # fmt: skip


async def test_a_native_trace_without_hooks_is_its_own_turn(
    ui: httpx.AsyncClient, collector: Collector, db_pool: asyncpg.Pool
) -> None:
    bodies = _bodies()
    for body in bodies:
        post(collector, body)
    native = native_trace_id(bodies)
    wait_until(lambda: drained(collector), what="spool drained")
    page = await ui.get(f"/turns/{native.hex}")
    assert page.status_code == 200 and "no hook spans arrived" in page.text
    count = await db_pool.fetchval("SELECT count(*) FROM claude_code_spans WHERE trace_id = $1", native)
    assert len(_rows(page.text)) == count > 0


async def test_a_native_only_session_is_listed_and_has_its_page(
    ui: httpx.AsyncClient, collector: Collector, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Hooks not installed: the session list and the session page show the session and its turn,
    as ``GET sessions`` does; when the hook turn arrives later, the turn is counted once."""
    bodies = _bodies()
    for body in bodies:
        post(collector, body)
    native = native_trace_id(bodies)
    wait_until(lambda: drained(collector), what="spool drained")
    session = await db_pool.fetchval(
        "SELECT session_id FROM claude_code_spans WHERE trace_id = $1 AND span_type = 'interaction'", native
    )
    assert await db_pool.fetchval("SELECT count(*) FROM execution_traces") == 0
    api = (await ui.get("/api/pattern-traceability/sessions")).json()["data"]
    assert [s["session_id"] for s in api["sessions"]] == [session]
    listed = await ui.get("/")
    assert listed.status_code == 200 and f'href="/sessions/{session}"' in listed.text
    page = await ui.get(f"/sessions/{session}")
    assert page.status_code == 200, page.text
    assert page.text.count('class="timeline-row turn"') == 1 and f'href="/turns/{native.hex}"' in page.text
    tools = await db_pool.fetchval(
        "SELECT count(*) FROM claude_code_spans WHERE trace_id = $1 AND span_type = 'tool'", native
    )
    assert f"{tools} tools" in page.text and (await ui.get(f"/turns/{native.hex}")).status_code == 200
    assert (
        await db_pool.fetchval("SELECT turns FROM trace_sessions WHERE session_id = $1::uuid", session) == 1
    )
    hook = HookEnv(tmp_path / "hook")  # the hooks' spans arrive after all
    hook.replay(hook_payloads("json"))
    for path in sorted(hook.spool.glob("*.json")):
        place_in_spool(path, collector.spool_dir)
    wait_until(lambda: drained(collector), what="spool drained")
    joined = await db_pool.fetchval(
        "SELECT correlation_id FROM execution_traces WHERE native_trace_id = $1", native
    )
    assert joined is not None
    assert (
        await db_pool.fetchval("SELECT turns FROM trace_sessions WHERE session_id = $1::uuid", session) == 1
    )
    page = await ui.get(f"/sessions/{session}")
    assert (
        page.text.count('class="timeline-row turn"') == 1 and f'href="/turns/{native.hex}"' not in page.text
    )


def _cells(html: str) -> list[str]:
    """The text of each cell of a table row (tags dropped, whitespace collapsed)."""
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]


def _facts(page: str) -> dict[str, str]:
    """The session page's facts: label -> value."""
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", page))


async def test_a_native_only_session_lists_what_its_page_counts(
    ui: httpx.AsyncClient, collector: Collector, db_pool: asyncpg.Pool
) -> None:
    """Hooks not installed: the list row shows the tool calls, failed tools, turns, duration, model,
    tokens and cost the session page shows, both from Claude Code's own spans and events. A failed
    tool is one whose ``claude_code.tool.execution`` failed (its ``claude_code.tool`` span stays
    UNSET), as the hooks would count the same tool use."""
    bodies = _bodies()
    for body in bodies:
        post(collector, body)
    native = native_trace_id(bodies)
    wait_until(lambda: drained(collector), what="spool drained")
    session = await db_pool.fetchval(
        "SELECT session_id FROM claude_code_spans WHERE trace_id = $1 AND span_type = 'interaction'", native
    )
    tools = await db_pool.fetchval(
        "SELECT count(*) FROM claude_code_spans WHERE trace_id = $1 AND span_type = 'tool'", native
    )
    failed = await db_pool.fetchval(
        """SELECT count(*) FROM claude_code_spans WHERE trace_id = $1 AND span_type = 'tool.execution'
           AND status_code = 'ERROR'""",
        native,
    )
    assert tools > failed > 0, "the recording has a failed tool among its tools"
    listed = (await ui.get("/")).text
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", listed, re.S) if f'href="/sessions/{session}"' in r)
    (_, _, _, duration, turns, calls, failed_cell, blocked, model, tokens, cost, _) = _cells(row)
    facts = _facts((await ui.get(f"/sessions/{session}")).text)
    assert (calls, failed_cell, blocked) == (str(tools), str(failed), "0")
    assert [calls, failed_cell, blocked] == [
        facts[k] for k in ("Tool calls", "Failed tools", "Blocked tools")
    ]
    assert (turns, duration, model, cost) == (facts["Turns"], facts["Span"], facts["Model"], facts["Cost"])
    totals = (await ui.get(f"/api/pattern-traceability/sessions/{session}")).json()["data"]["totals"]
    assert tokens == facts["Tokens in / out"] == f"{totals['input_tokens']:,} / {totals['output_tokens']:,}"
    assert totals["input_tokens"] > 0 and totals["output_tokens"] > 0
    (summary,) = (await ui.get("/api/pattern-traceability/sessions")).json()["data"]["sessions"]
    assert summary["totals"] == totals and str(summary["turns"]) == turns
    filters = {
        "status=failed": True, "status=ok": False, "tool=Read": True, "tool=Agent": False,
        "file=slug.py": True, "file=print": False, "q=PRINT(2)": True, "q=missing.txt": True, "q=nothere": False,
    }  # fmt: skip
    for query, found in filters.items():
        page = (await ui.get(f"/?{query}")).text
        assert (f'href="/sessions/{session}"' in page) is found, query
