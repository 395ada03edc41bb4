"""The UI's pure layout code: waterfall rows, lineage graph placement, diffs, chart scaling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from traceability.instrumentation import semconv as sc
from traceability.lineage_api.ui import charts, code_change, lineage_graph, views, waterfall

T0 = datetime(2026, 11, 21, 12, tzinfo=UTC)


def span(span_id: str, parent: str | None, start_ms: float, duration_ms: float | None) -> waterfall.SpanIn:
    return waterfall.SpanIn(
        span_id, parent, span_id, "tool", "completed", T0 + timedelta(milliseconds=start_ms), duration_ms
    )


def test_waterfall_is_depth_first_by_start_with_bars_on_the_axis() -> None:
    spans = [
        span("b", "root", 500, 100),
        span("a", "root", 0, 400),
        span("a2", "a", 300, 50),
        span("a1", "a", 100, 50),
        span("orphan", "never-arrived", 900, 100),
    ]
    axis = waterfall.axis_for(T0, T0 + timedelta(milliseconds=1000), spans)
    bars = waterfall.layout(spans, axis)
    assert [(b.span.span_id, b.depth, b.ancestors) for b in bars] == [
        ("a", 0, ()), ("a1", 1, ("a",)), ("a2", 1, ("a",)), ("b", 0, ()), ("orphan", 0, ()),
    ]  # fmt: skip
    by_id = {b.span.span_id: b for b in bars}
    assert (by_id["a"].offset_pct, by_id["a"].width_pct) == (0.0, 40.0)
    assert (by_id["a2"].offset_pct, by_id["a2"].width_pct) == (30.0, 5.0)
    assert by_id["a"].has_children and not by_id["b"].has_children
    assert axis.ticks(4)[-1] == (100.0, "1.00 s")


def test_waterfall_survives_cycles_and_self_parents() -> None:
    spans = [span("x", "y", 0, 10), span("y", "x", 5, 10), span("z", "z", 7, None)]
    bars = waterfall.layout(spans, waterfall.axis_for(T0, None, spans))
    assert sorted(b.span.span_id for b in bars) == ["x", "y", "z"]
    assert all(0 <= b.offset_pct <= 100 and b.width_pct >= 0.3 for b in bars)


def test_lineage_graph_columns_follow_the_longest_chain_and_cycles_terminate() -> None:
    nodes = [lineage_graph.GraphNode(n, "p", n, "1.0.0", "active", True) for n in "abcd"]
    edges = [lineage_graph.GraphEdge(s, t, "modified_from") for s, t in ("ab", "bc", "ac", "cd", "dc")]
    placed = {p.node.node_id: p for p in lineage_graph.layout(nodes, edges).nodes}
    columns = {
        n: round((p.x - lineage_graph.MARGIN) / (lineage_graph.NODE_W + lineage_graph.GAP_X))
        for n, p in placed.items()
    }
    assert columns["a"] == 0 and columns["b"] == 1 and columns["c"] > columns["b"] and columns["d"] >= 1
    graph = lineage_graph.layout(nodes, [*edges, lineage_graph.GraphEdge("a", "zz", "derived_from")])
    assert len(graph.edges) == len(edges)  # an edge to a node not drawn is left out


def test_dense_cyclic_graph_places_every_node_once() -> None:
    names = [f"n{i}" for i in range(40)]
    nodes = [lineage_graph.GraphNode(n, "p", n, "1", "active", True) for n in names]
    edges = [lineage_graph.GraphEdge(a, b, "replaced_by") for a in names for b in names if a != b]
    graph = lineage_graph.layout(nodes, edges)
    assert sorted(p.node.node_id for p in graph.nodes) == sorted(names) and len(graph.edges) == len(edges)


def test_edit_multiedit_and_write_diffs() -> None:
    [edit] = code_change.code_changes(
        "Edit", {"file_path": "f.py", "old_string": "a\nb\n", "new_string": "a\nc\n"}, None
    )
    assert [(line.kind, line.text) for line in edit.lines if line.kind != "hunk"] == [
        ("ctx", "a"),
        ("del", "b"),
        ("add", "c"),
    ]
    multi = code_change.code_changes(
        "MultiEdit", {"file_path": "f.py", "edits": [{"old_string": "x", "new_string": "y"}, "junk"]}, None
    )
    assert len(multi) == 1 and multi[0].title == "f.py (edit 1 of 2)"
    [new_file] = code_change.code_changes("Write", {"file_path": "g.py", "content": "one\ntwo\n"}, None)
    assert new_file.title == "g.py (new file)" and [
        line.text for line in new_file.lines if line.kind == "add"
    ] == ["one", "two"]
    [rewrite] = code_change.code_changes("Write", {"file_path": "g.py", "content": "one\n"}, "one\ntwo\n")
    assert [(line.kind, line.text) for line in rewrite.lines if line.kind in ("add", "del")] == [
        ("del", "two")
    ]
    assert code_change.code_changes("Bash", {"command": "ls"}, None) == []
    assert code_change.code_changes("Edit", "not a dict", None) == []


def test_long_diffs_are_cut_and_say_so() -> None:
    old = "\n".join(f"line {i}" for i in range(5000))
    [change] = code_change.code_changes("Edit", {"old_string": old, "new_string": ""}, None)
    assert change.truncated and len(change.lines) == code_change.MAX_DIFF_LINES


def test_chart_points_scale_linearly_and_keep_their_values() -> None:
    rng = np.random.default_rng(7)
    values: list[float | None] = [float(v) for v in rng.uniform(0, 830, size=12)]
    values[4] = None
    chart = charts.line_chart("t", [f"d{i}" for i in range(12)], [("s", values)])
    [series] = chart.series
    assert [p.value for p in series.points] == [v for v in values if v is not None]
    top = 1000.0  # the next round number above the largest value
    inner = charts.HEIGHT - charts.PAD_TOP - charts.PAD_BOTTOM
    expected_y = [charts.PAD_TOP + inner * (1 - v / top) for v in values if v is not None]
    np.testing.assert_allclose([p.y for p in series.points], expected_y)
    xs = [p.x for p in series.points]
    assert xs == sorted(xs) and xs[0] == charts.PAD_LEFT and xs[-1] == charts.WIDTH - charts.PAD_RIGHT
    assert (
        charts.line_chart("empty", [], []).empty and charts.line_chart("none", ["a"], [("s", [None])]).empty
    )


def test_waterfall_rows_escape_every_stored_value() -> None:
    from traceability.lineage_api.ui import waterfall_html

    hostile = '<img src=x onerror="alert(1)">'
    spans = [waterfall.SpanIn('a"><script>', None, hostile, "tool<", 'x" onclick="y', T0, 5.0)]
    bars = waterfall.layout(spans, waterfall.axis_for(T0, None, spans))
    html = str(waterfall_html.rows_html(bars, lambda s: s, lambda ms: f"{ms} ms"))
    assert "<img" not in html and "<script>" not in html and 'onclick="y' not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_a_row_is_a_turn_when_its_root_is_a_turn_or_it_runs_with_a_prompt() -> None:
    """The session page numbers turns and labels session events by this rule, as the API counts turns."""
    rows: dict[str, tuple[dict[str, Any], bool]] = {
        "a finished turn": ({"span_name": sc.SPAN_NAME_TURN, "prompt_id": "p1"}, True),
        "a running turn (its root comes at Stop)": ({"span_name": None, "prompt_id": "p2"}, True),
        "session events, root arrived": ({"span_name": sc.SPAN_NAME_SESSION, "prompt_id": None}, False),
        "session events, root still to come": ({"span_name": None, "prompt_id": None}, False),
        "another producer's root": ({"span_name": "checkout", "prompt_id": None}, True),
    }
    assert {name: views.is_turn(row) for name, (row, _) in rows.items()} == {
        name: expected for name, (_, expected) in rows.items()
    }
