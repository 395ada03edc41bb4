"""The UI in a real browser (Debian's Chromium driven by Playwright) against `traceability api`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.api_server import running_api
from tests.support.browser import browser_page
from tests.support.drain import drain
from tests.support.hooks import HookEnv
from tests.support.ui_seed import V1, Seeded

AS_OF = (
    "2026-11-25T00:00:00+00:00"  # the seeded session (2026-11-21) is inside the monthly window ending here
)


@pytest.fixture
def server(db_dsn: str) -> Iterator[str]:
    with running_api(db_dsn, TRACEABILITY_DERIVER="0") as base:
        yield base


async def _pattern_id(base: str) -> str:
    async with httpx.AsyncClient() as c:
        data = (await c.get(base + "/api/pattern-traceability/patterns", params={"name": "total"})).json()[
            "data"
        ]
    return str(data["patterns"][0]["pattern_id"])


async def test_every_page_loads_with_no_console_errors_and_nothing_from_elsewhere(
    server: str, seeded: Seeded
) -> None:
    pattern = await _pattern_id(server)
    paths = ["/", f"/sessions/{seeded.session_id}", f"/turns/{seeded.turn_ids[0]}", f"/turns/{seeded.turn_ids[1]}",
             "/patterns", f"/patterns/{pattern}", "/overview", "/docs", "/no-such-page"]  # fmt: skip
    async with browser_page() as (page, watch):
        for path in paths:
            response = await page.goto(server + path)
            assert response is not None
            assert response.status == (404 if path == "/no-such-page" else 200), path
            await page.wait_for_load_state("networkidle")
        assert watch.external_requests == []
        # the one expected console error is the browser reporting the deliberate 404
        assert [e for e in watch.console_errors if "404" not in e] == [] and watch.page_errors == []


async def test_waterfall_is_the_stored_spans_and_a_write_shows_its_diff(
    server: str, seeded: Seeded, db_pool: asyncpg.Pool
) -> None:
    rows = await db_pool.fetch(
        "SELECT h.span_id, h.parent_span_id, h.tool_use_id, h.span_type FROM hook_executions h "
        "JOIN execution_traces t ON t.id = h.trace_id WHERE t.correlation_id = $1",
        uuid.UUID(seeded.turn_ids[0]),
    )
    async with browser_page() as (page, _):
        await page.goto(f"{server}/turns/{seeded.turn_ids[0]}")
        shown = await page.eval_on_selector_all(
            ".wf-row", "rows => rows.map(r => [r.dataset.span, r.dataset.parent])"
        )
        ids = {r["span_id"] for r in rows}
        assert sorted(s for s, _ in shown) == sorted(ids)
        assert {s: p for s, p in shown} == {
            r["span_id"]: (r["parent_span_id"] if r["parent_span_id"] in ids else "") for r in rows
        }
        write = next(
            r["span_id"]
            for r in rows
            if r["tool_use_id"] == seeded.write_tool_use_id and r["span_type"] == "tool"
        )
        await page.click(f"#span-{write} .wf-name a")
        await page.wait_for_selector(f'.span-details[data-span="{write}"] table.diff')
        added = await page.eval_on_selector_all(
            ".span-details tr.d-add .d-text", "cells => cells.map(c => c.textContent)"
        )
        assert added == V1.splitlines()
        assert await page.get_attribute(f"#span-{write}", "aria-selected") == "true"


async def test_the_span_list_is_walked_and_opened_with_the_keyboard(server: str, seeded: Seeded) -> None:
    async with browser_page() as (page, _):
        await page.goto(f"{server}/turns/{seeded.turn_ids[1]}")
        order = await page.eval_on_selector_all(".wf-row", "rows => rows.map(r => r.dataset.span)")
        await page.focus(".wf-rows")
        for expected in order[:3]:
            await page.keyboard.press("ArrowDown")
            assert await page.get_attribute(f"#span-{expected}", "aria-selected") == "true"
        await page.keyboard.press("Enter")
        await page.wait_for_selector(f'.span-details[data-span="{order[2]}"]')
        assert await page.evaluate("document.activeElement.id") == "details"
        # collapse the tool span's subtree with ArrowLeft, expand with ArrowRight
        parent = await page.get_attribute(".wf-row:has(.toggle)", "data-span")
        await page.focus(".wf-rows")
        await page.keyboard.press("Home")
        while await page.get_attribute(f"#span-{parent}", "aria-selected") != "true":
            await page.keyboard.press("ArrowDown")
        children = f'.wf-row[data-parent="{parent}"]'
        assert await page.locator(children).count() > 0
        await page.keyboard.press("ArrowLeft")
        assert await page.locator(children).evaluate_all("rows => rows.every(r => r.hidden)")
        await page.keyboard.press("ArrowRight")
        assert await page.locator(children).evaluate_all("rows => rows.every(r => !r.hidden)")


async def test_hostile_text_is_shown_as_text_and_runs_nothing(
    server: str, seeded: Seeded, db_pool: asyncpg.Pool
) -> None:
    failed = await db_pool.fetchval(
        "SELECT span_id FROM hook_executions WHERE tool_use_id = $1 AND span_type = 'tool'",
        seeded.failed_tool_use_id,
    )
    async with browser_page() as (page, watch):
        await page.goto(f"{server}/turns/{seeded.turn_ids[1]}")
        assert "<script>window.__pwned = 1</script>" in await page.inner_text("blockquote.prompt")
        await page.goto(f"{server}/turns/{seeded.turn_ids[0]}")
        await page.click(f"#span-{failed} .wf-name a")
        await page.wait_for_selector(f'.span-details[data-span="{failed}"]')
        assert '<img src=x onerror="window.__pwned = 3">' in await page.inner_text(".span-details")
        assert await page.evaluate("window.__pwned === undefined")
        assert await page.locator(".span-details img, blockquote img").count() == 0
        assert watch.page_errors == []


async def test_lineage_graph_and_charts_match_the_store_and_the_analytics_api(
    server: str, seeded: Seeded, db_pool: asyncpg.Pool
) -> None:
    pattern = await _pattern_id(server)
    versions = await db_pool.fetch(
        "SELECT id, pattern_version FROM pattern_lineage_nodes WHERE pattern_id = $1", pattern
    )
    edges = await db_pool.fetch(
        "SELECT e.source_node_id, e.target_node_id, e.edge_type FROM pattern_lineage_edges e "
        "JOIN pattern_lineage_nodes n ON n.id = e.target_node_id WHERE n.pattern_id = $1",
        pattern,
    )
    assert len(versions) == 2 and len(edges) == 1  # the write and the edit
    async with httpx.AsyncClient() as c:
        api = (await c.get(f"{server}/api/pattern-traceability/analytics/{pattern}",
                           params={"time_window": "monthly", "as_of": AS_OF})).json()  # fmt: skip
    async with browser_page() as (page, _):
        await page.goto(f"{server}/patterns/{pattern}?window=monthly&as_of={AS_OF.replace('+', '%2B')}")
        nodes = await page.eval_on_selector_all("svg.lineage .node.own", "ns => ns.map(n => n.dataset.node)")
        assert sorted(nodes) == sorted(str(v["id"]) for v in versions)
        drawn = await page.eval_on_selector_all(
            "svg.lineage .edge", "es => es.map(e => [e.dataset.source, e.dataset.target, e.dataset.type])"
        )
        assert sorted(map(tuple, drawn)) == sorted(
            (str(e["source_node_id"]), str(e["target_node_id"]), e["edge_type"]) for e in edges
        )
        figures = dict(await page.eval_on_selector_all(
            "#analytics-figures [data-metric]", "fs => fs.map(f => [f.dataset.metric, f.dataset.raw ?? f.textContent])"
        ))  # fmt: skip
        assert int(figures["total_executions"]) == api["usage_metrics"]["total_executions"]
        assert float(figures["success_rate"]) == pytest.approx(api["success_metrics"]["success_rate"])
        assert float(figures["cost_usd"]) == pytest.approx(api["cost_metrics"]["cost_usd"])
        for key in ("p50_execution_time_ms", "p95_execution_time_ms", "p99_execution_time_ms"):
            assert float(figures[key]) == pytest.approx(api["performance_metrics"][key])
        per_day = await page.eval_on_selector_all(
            "#chart-1 circle.pt", "ps => ps.map(p => Number(p.dataset.value))"
        )
        assert sum(per_day) == api["usage_metrics"]["total_executions"]
        # clicking a node moves to that node's pattern
        await page.click("svg.lineage .node.own >> nth=0")
        await page.wait_for_url(re.compile(rf"/patterns/{pattern}$"))


async def test_reads_protected_show_no_data_until_signed_in(db_dsn: str, seeded: Seeded) -> None:
    token = "browser-test-token-91c2"
    with running_api(
        db_dsn, TRACEABILITY_DERIVER="0", TRACEABILITY_API_TOKEN=token, TRACEABILITY_AUTH_READS="1"
    ) as base:
        async with browser_page() as (page, watch):
            for path in (
                "/",
                f"/sessions/{seeded.session_id}",
                f"/turns/{seeded.turn_ids[0]}",
                "/patterns",
                "/overview",
            ):
                await page.goto(base + path)
                assert page.url.startswith(base + "/login"), path
                content = await page.content()  # the sign-in form only: no file, no turn of the session
                assert "cart.py" not in content and seeded.turn_ids[1] not in content, path
            await page.goto(f"{base}/sessions/{seeded.session_id}")
            await page.fill("input[name=token]", token)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/sessions/{seeded.session_id}")
            assert seeded.turn_ids[0] in await page.content()
            assert token not in page.url and all(token not in r for r in watch.external_requests)


async def test_a_new_session_and_a_growing_turn_appear_without_a_reload(
    server: str, seeded: Seeded, db_dsn: str, tmp_path: Path
) -> None:
    hook = HookEnv(tmp_path / "live-hook")
    hook.root.mkdir()
    session, prompt = str(uuid.uuid4()), str(uuid.uuid4())
    project = tmp_path / "live-project"
    project.mkdir()
    base = {"session_id": session, "transcript_path": str(tmp_path / "t.jsonl"), "cwd": str(project),
            "prompt_id": prompt, "permission_mode": "default"}  # fmt: skip

    def tool(n: int) -> list[dict[str, object]]:
        tool_input = {"command": f"echo {n}"}
        return [
            {**base, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": tool_input, "tool_use_id": f"toolu_live_{n}"},
            {**base, "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": tool_input,
             "tool_use_id": f"toolu_live_{n}", "tool_response": {"stdout": str(n)}, "duration_ms": 5},
        ]  # fmt: skip

    async with browser_page() as (page, _):
        await page.goto(server + "/")
        assert await page.locator(f'a[href="/sessions/{session}"]').count() == 0
        hook.replay([{**base, "hook_event_name": "UserPromptSubmit", "prompt": "go"}, *tool(1)])
        await drain(db_dsn, hook)
        await page.wait_for_selector(f'a[href="/sessions/{session}"]', timeout=10_000)

        turn = uuid.UUID(prompt).hex
        await page.goto(f"{server}/turns/{turn}")
        before = await page.locator(".wf-row").count()
        assert before >= 1 and await page.get_attribute("#waterfall", "data-live") is not None
        hook.replay(tool(2))
        await drain(db_dsn, hook)
        await page.wait_for_function(
            f"document.querySelectorAll('.wf-row').length > {before}", timeout=10_000
        )
        hook.replay(
            [{**base, "hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "ok"}]
        )
        await drain(db_dsn, hook)
        await page.wait_for_function(
            "document.querySelector('#waterfall').dataset.live === undefined", timeout=10_000
        )
