"""The UI's pages over HTTP: what each shows is what is stored, errors are pages, text stays text."""

from __future__ import annotations

import html
import re
import uuid

import asyncpg
import httpx
from markupsafe import escape

from tests.support.ui_seed import BRANCH, HOSTILE_OUTPUT, HOSTILE_PROMPT, REVISION, V1, V2, Seeded


def span_ids(page: str) -> list[str]:
    return re.findall(r'<li role="option" id="span-([0-9a-f]+)"', page)


def facts(page: str) -> dict[str, str]:
    """A page's facts (its ``<dt>`` / ``<dd>`` pairs) as text."""
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", page, re.S)
    return {html.unescape(k): html.unescape(re.sub(r"<[^>]+>", "", v)).strip() for k, v in pairs}


async def test_sessions_list_shows_the_session_with_its_counts(ui: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await ui.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    row = re.search(
        rf'<tr>\s*<td><a href="/sessions/{seeded.session_id}">shop</a></td>(.*?)</tr>', r.text, re.S
    )
    assert row, "the seeded session is listed under its project"
    cells = [
        html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]
    # branch, started, duration, turns, tool calls, failed, blocked, model, tokens, cost, session
    assert cells[0] == BRANCH and cells[3:7] == ["2", "3", "1", "0"]


async def test_session_filters_narrow_the_list(ui: httpx.AsyncClient, seeded: Seeded) -> None:
    async def listed(**params: str) -> bool:
        r = await ui.get("/", params=params)
        assert r.status_code == 200
        return f"/sessions/{seeded.session_id}" in r.text

    assert await listed(project="shop") and not await listed(project="elsewhere")
    assert await listed(branch=BRANCH) and not await listed(branch="main")
    assert await listed(tool="Edit") and not await listed(tool="NotebookEdit")
    assert await listed(file="cart.py") and not await listed(file="nothing-like-this")
    assert await listed(q="pytest -q") and not await listed(q="no such command")
    assert await listed(status="failed") and not await listed(status="ok")
    assert not await listed(since="2999-01-01")


async def test_session_page_lists_its_turns_in_order(ui: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await ui.get(f"/sessions/{seeded.session_id}")
    assert r.status_code == 200
    links = re.findall(r'href="/turns/([0-9a-f]{32})"', r.text)
    turns = [t for t in links if t in seeded.turn_ids]
    assert turns == list(seeded.turn_ids)
    assert re.findall(r"Turn (\d+)", r.text) == ["1", "2"]  # numbered among turns, not among rows
    events = [t for t in links if t not in seeded.turn_ids]
    assert len(events) == 1 and "Session events" in r.text
    shown = facts(r.text)
    assert (shown["Branch"], shown["Commit"], shown["Repository"]) == (BRANCH, REVISION[:12], "shop")
    turn = await ui.get(f"/turns/{seeded.turn_ids[1]}")
    assert (facts(turn.text)["Branch"], facts(turn.text)["Commit"]) == (BRANCH, REVISION[:12])
    assert "<h1>Turn " in turn.text
    session_events = await ui.get(f"/turns/{events[0]}")
    assert "<h1>Session events " in session_events.text and "› session events</p>" in session_events.text


async def test_turn_waterfall_has_exactly_the_stored_spans_nested_as_stored(
    ui: httpx.AsyncClient, seeded: Seeded, db_pool: asyncpg.Pool
) -> None:
    trace = uuid.UUID(seeded.turn_ids[0])
    rows = await db_pool.fetch(
        "SELECT h.span_id, h.parent_span_id FROM hook_executions h JOIN execution_traces t ON t.id = h.trace_id "
        "WHERE t.correlation_id = $1",
        trace,
    )
    r = await ui.get(f"/turns/{seeded.turn_ids[0]}")
    assert r.status_code == 200
    shown = span_ids(r.text)
    assert sorted(shown) == sorted(row["span_id"] for row in rows) and len(shown) == len(set(shown))
    stored_parent = {row["span_id"]: row["parent_span_id"] for row in rows}
    for span, parent in re.findall(r'data-span="([0-9a-f]+)"\s+data-parent="([0-9a-f]*)"', r.text):
        expected = stored_parent[span] if stored_parent[span] in stored_parent else ""
        assert parent == expected, (
            f"span {span} is drawn under {parent!r}, stored under {stored_parent[span]!r}"
        )
    assert (
        shown.index(next(s for s, p in stored_parent.items() if p in stored_parent)) > 0
    )  # a child after its parent


async def test_span_details_show_the_code_change_and_the_pattern_versions(
    ui: httpx.AsyncClient, seeded: Seeded, db_pool: asyncpg.Pool
) -> None:
    edit = await db_pool.fetchrow(
        "SELECT span_id FROM hook_executions WHERE tool_use_id = $1 AND span_type = 'tool'",
        seeded.edit_tool_use_id,
    )
    assert edit is not None
    r = await ui.get(f"/turns/{seeded.turn_ids[1]}/spans/{edit['span_id']}")
    assert r.status_code == 200
    removed = [
        html.unescape(t) for t in re.findall(r'<tr class="d-del">.*?<td class="d-text">(.*?)</td>', r.text)
    ]
    added = [
        html.unescape(t) for t in re.findall(r'<tr class="d-add">.*?<td class="d-text">(.*?)</td>', r.text)
    ]
    assert removed == V1.splitlines() and added == V2.splitlines()
    versions = await db_pool.fetch(
        "SELECT n.pattern_id, n.pattern_version FROM pattern_executions x JOIN pattern_lineage_nodes n ON n.id = x.node_id "
        "WHERE x.tool_use_id = $1",
        seeded.edit_tool_use_id,
    )
    assert versions, "the deriver recorded the edit's pattern version"
    for v in versions:
        assert f'href="/patterns/{v["pattern_id"]}"' in r.text and f"v{v['pattern_version']}" in r.text
    as_json = re.findall(r'href="(/api/pattern-traceability/traces/[^"]+/spans/[^"]+)"', r.text)
    assert len(as_json) == 1, as_json
    span = (await ui.get(as_json[0])).json()["data"]
    assert (span["origin"], span["span"]["span_id"], span["span"]["tool_use_id"]) == (
        "hooks", edit["span_id"], seeded.edit_tool_use_id,
    )  # fmt: skip
    assert {(x["pattern_id"], x["pattern_version"]) for x in span["pattern_executions"]} == {
        (v["pattern_id"], v["pattern_version"]) for v in versions
    }


async def test_hostile_prompt_and_output_are_escaped(
    ui: httpx.AsyncClient, seeded: Seeded, db_pool: asyncpg.Pool
) -> None:
    r = await ui.get(f"/turns/{seeded.turn_ids[1]}")
    assert "<script>window.__pwned" not in r.text and str(escape(HOSTILE_PROMPT)) in r.text
    failed = await db_pool.fetchrow(
        "SELECT span_id FROM hook_executions WHERE tool_use_id = $1 AND span_type = 'tool'",
        seeded.failed_tool_use_id,
    )
    assert failed is not None
    details = await ui.get(f"/turns/{seeded.turn_ids[0]}/spans/{failed['span_id']}")
    assert "<img src=x onerror" not in details.text and "&lt;img src=x onerror" in details.text
    assert HOSTILE_OUTPUT.split(">")[1].strip() in details.text


async def test_unknown_ids_are_404_pages_and_bad_parameters_400_pages(
    ui: httpx.AsyncClient, seeded: Seeded
) -> None:
    cases = {
        f"/sessions/{uuid.uuid4()}": 404,
        "/sessions/not-a-uuid": 404,
        f"/turns/{uuid.uuid4().hex}": 404,
        "/turns/zzz": 404,
        f"/turns/{seeded.turn_ids[0]}/spans/ffffffffffffffff": 404,
        "/patterns/no-such-pattern": 404,
        "/no/such/page": 404,
        "/?page=abc": 400,
        "/?page=0": 400,
        "/?since=yesterday": 400,
        "/?status=maybe": 400,
        "/patterns?status=odd": 400,
        "/overview?days=-3": 400,
        "/?q=" + "x" * 600: 400,
    }
    for path, status in cases.items():
        r = await ui.get(path)
        assert r.status_code == status, (path, r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("text/html"), path
        assert 'href="/"' in r.text and 'class="error-message"' in r.text, path


async def test_api_errors_stay_json(ui: httpx.AsyncClient) -> None:
    r = await ui.get(f"/api/pattern-traceability/traces/{uuid.uuid4()}")
    assert r.status_code == 404 and r.json()["success"] is False


async def test_traces_api_links_to_the_ui_and_to_no_unconfigured_jaeger(
    ui: httpx.AsyncClient, seeded: Seeded
) -> None:
    r = await ui.get(f"/api/pattern-traceability/traces/{uuid.UUID(seeded.turn_ids[0])}")
    data = r.json()["data"]
    assert data["ui_url"] == f"/turns/{seeded.turn_ids[0]}" and data["jaeger_url"] is None
    assert (await ui.get(data["ui_url"])).status_code == 200
    listed = (await ui.get("/api/pattern-traceability/traces")).json()["data"]["traces"]
    assert {t["jaeger_trace_id"] for t in listed} >= set(seeded.turn_ids)
    assert [t["jaeger_url"] for t in listed] == [None] * len(listed)


async def test_pages_reference_nothing_outside_this_server(ui: httpx.AsyncClient, seeded: Seeded) -> None:
    pattern = (await ui.get("/api/pattern-traceability/patterns")).json()["data"]["patterns"][0]["pattern_id"]
    for path in ("/", f"/sessions/{seeded.session_id}", f"/turns/{seeded.turn_ids[0]}", "/patterns",
                 f"/patterns/{pattern}", "/overview"):  # fmt: skip
        r = await ui.get(path)
        assert r.status_code == 200, path
        refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert refs and all(ref.startswith(("/", "?", "#")) for ref in refs), (
            path,
            [x for x in refs if not x.startswith(("/", "?", "#"))],
        )


async def test_a_pattern_name_opens_its_page(ui: httpx.AsyncClient, seeded: Seeded) -> None:
    pattern = (await ui.get("/api/pattern-traceability/patterns", params={"name": "total"})).json()["data"]
    [only] = pattern["patterns"]
    r = await ui.get("/patterns/total")
    assert r.status_code == 303 and r.headers["location"] == f"/patterns/{only['pattern_id']}"
