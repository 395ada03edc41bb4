"""The pattern deriver on a scripted session stored through the real exporter and PostgreSQL."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.support.scripted_session import ScriptedSession
from traceability.instrumentation import semconv
from traceability.lineage_api.deriver.normalize import code_hash, normalize, pattern_id_for
from traceability.lineage_api.deriver.pipeline import PatternDeriver
from traceability.lineage_api.store import graph
from traceability.lineage_api.store import lineage as lineage_store

AREA_V1 = '''def area(radius, precision=2):
    """Area of a circle."""
    if radius < 0:
        raise ValueError("radius must be >= 0")
    value = math.pi * radius ** 2
    rounded = round(value, precision)
    return rounded
'''
AREA_V2 = AREA_V1.replace("radius < 0", "radius <= 0")  # a one-character fix
AREA_V3 = AREA_V2.replace(
    '    """Area of a circle."""\n',
    '    """Area of a circle."""\n'
    "    if not isinstance(radius, (int, float)):\n"
    '        raise TypeError("radius must be a number")\n',
)
AREA_V4 = "def area(radius, precision=2):\n    return round(math.pi * radius * radius, precision)\n"
AREA_COPY_RENAMED = "def area(r, precision=2):\n    return round(math.pi * r * r, precision)\n"
SHAPE = """class Shape:
    def __init__(self, name):
        self.name = name

    def describe(self):
        return f"shape {self.name}"
"""


def module(area: str) -> str:
    return f"import math\n\n\n{area}\n\n{SHAPE}"


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    tables = (
        "pattern_lineage_nodes",
        "pattern_lineage_edges",
        "pattern_lineage_events",
        "pattern_executions",
        "pattern_locations",
        "pattern_signatures",
        "pattern_ancestry_cache",
    )
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


async def scripted_session(db_dsn: str) -> ScriptedSession:
    s = ScriptedSession()
    s.turn()
    s.tool("Write", "/repo/geometry.py", module(AREA_V1))
    s.turn()
    for version in (AREA_V2, AREA_V3, AREA_V4):  # Edit, file read back after each
        s.tool("Edit", "/repo/geometry.py", module(version))
    s.turn()
    s.tool("Write", "/repo/other.py", f"import math\n\n\n{AREA_V4}")  # a copy in another file
    s.tool("Edit", "/repo/other.py", f"import math\n\n\n{AREA_COPY_RENAMED}")  # rename a variable in the copy
    await s.flush(db_dsn)
    return s


async def test_scripted_session_derives_versions_copies_and_forks(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    session = await scripted_session(db_dsn)
    deriver = PatternDeriver()
    result = await deriver.run(db_pool)
    assert result.executions == 6
    assert result.nodes_created == 8

    area_id = pattern_id_for(normalize(AREA_V1, "python"))
    fork_id = pattern_id_for(normalize(AREA_COPY_RENAMED, "python"))
    async with db_pool.acquire() as conn:
        nodes = await conn.fetch(
            "SELECT pattern_id, qualified_name, pattern_type, pattern_version, generation, file_path, code_hash, "
            "language FROM pattern_lineage_nodes ORDER BY created_at, qualified_name"
        )
        assert [
            (n["qualified_name"], n["pattern_type"], n["pattern_version"], n["generation"]) for n in nodes
        ] == [
            ("Shape", "class", "1.0.0", 1),
            ("Shape.__init__", "method", "1.0.0", 1),
            ("Shape.describe", "method", "1.0.0", 1),
            ("area", "function", "1.0.0", 1),
            ("area", "function", "1.0.1", 2),
            ("area", "function", "1.1.0", 3),
            ("area", "function", "2.0.0", 4),
            ("area", "function", "1.0.0", 5),
        ]
        area_nodes = [n for n in nodes if n["pattern_id"] == area_id]
        assert [n["pattern_version"] for n in area_nodes] == ["1.0.0", "1.0.1", "1.1.0", "2.0.0"]
        assert [n["code_hash"] for n in area_nodes] == [
            code_hash(normalize(v, "python")) for v in (AREA_V1, AREA_V2, AREA_V3, AREA_V4)
        ]
        assert {n["file_path"] for n in area_nodes} == {"/repo/geometry.py"}
        assert nodes[-1]["pattern_id"] == fork_id and nodes[-1]["file_path"] == "/repo/other.py"
        assert {n["language"] for n in nodes} == {"python"}

        edges = await conn.fetch(
            """
            SELECT s.pattern_id AS sp, s.pattern_version AS sv, t.pattern_id AS tp, t.pattern_version AS tv,
                   e.edge_type, e.transformation_type, e.edge_weight::float8 AS w
            FROM pattern_lineage_edges e JOIN pattern_lineage_nodes s ON s.id = e.source_node_id
            JOIN pattern_lineage_nodes t ON t.id = e.target_node_id ORDER BY e.created_at
            """
        )
        assert [
            (e["sp"], e["sv"], e["tp"], e["tv"], e["edge_type"], e["transformation_type"]) for e in edges
        ] == [
            (area_id, "1.0.0", area_id, "1.0.1", "modified_from", "bugfix"),
            (area_id, "1.0.1", area_id, "1.1.0", "modified_from", "enhancement"),
            (area_id, "1.1.0", area_id, "2.0.0", "modified_from", "simplification"),
            (area_id, "2.0.0", fork_id, "1.0.0", "derived_from", "refactor"),
        ]
        assert edges[0]["w"] >= 0.9 and 0.7 <= edges[1]["w"] < 0.9 and edges[2]["w"] < 0.7
        assert edges[3]["w"] >= 0.5

        events = await conn.fetch(
            "SELECT event_type, event_subtype, pattern_id FROM pattern_lineage_events ORDER BY created_at, pattern_id"
        )
        by_type: dict[str, int] = {}
        for e in events:
            by_type[e["event_type"]] = by_type.get(e["event_type"], 0) + 1
        assert by_type == {
            "pattern_created": 4,
            "pattern_modified": 3,
            "pattern_applied": 1,
            "pattern_forked": 1,
        }
        applied = [e for e in events if e["event_type"] == "pattern_applied"]
        assert applied[0]["pattern_id"] == area_id and applied[0]["event_subtype"] == "copy"

        # every code-writing tool use is linked to each pattern version in the code it wrote
        executions = await conn.fetch(
            "SELECT x.tool_use_id, n.qualified_name, n.pattern_version, x.success, x.blocked, x.duration_ms, "
            "x.quality_score, x.session_id, x.user_id FROM pattern_executions x "
            "JOIN pattern_lineage_nodes n ON n.id = x.node_id ORDER BY x.executed_at, n.qualified_name"
        )
        assert len(executions) == 4 * 4 + 1 + 1
        write, edit1, edit2, edit3, copy, rename = session.tool_use_ids
        per_use: dict[Any, Any] = {}
        for x in executions:
            per_use.setdefault(x["tool_use_id"], []).append((x["qualified_name"], x["pattern_version"]))
        shape = [("Shape", "1.0.0"), ("Shape.__init__", "1.0.0"), ("Shape.describe", "1.0.0")]
        assert per_use[write] == [*shape, ("area", "1.0.0")]
        assert per_use[edit1] == [*shape, ("area", "1.0.1")]
        assert per_use[edit2] == [*shape, ("area", "1.1.0")]
        assert per_use[edit3] == [*shape, ("area", "2.0.0")]
        assert per_use[copy] == [("area", "2.0.0")]
        assert per_use[rename] == [("area", "1.0.0")]
        assert all(x["success"] and not x["blocked"] for x in executions)
        assert {
            (x["duration_ms"], x["quality_score"], x["session_id"], x["user_id"]) for x in executions
        } == {(12.5, 0.9, session.session_id, session.user_id)}

        # lineage queries on the derived graph
        fork = await lineage_store.resolve_node(conn, fork_id)
        ancestors, _ = await graph.ancestry(conn, fork.id, 10)
        assert [(a.pattern_version, a.depth, a.edge_type) for a in ancestors] == [
            ("2.0.0", 1, "derived_from"),
            ("1.1.0", 2, "modified_from"),
            ("1.0.1", 3, "modified_from"),
            ("1.0.0", 4, "modified_from"),
        ]

        before = await counts(conn)

    # running again changes nothing: nothing pending ...
    again = await PatternDeriver().run(db_pool)
    assert (again.executions, again.nodes_created) == (0, 0)
    # ... and even from the start (checkpoint reset, or a sweep of everything) every span is claimed
    async with db_pool.acquire() as conn:
        await conn.execute("DELETE FROM traceability_checkpoints")
    replay = await PatternDeriver().run(db_pool)
    sweep = await PatternDeriver().run(db_pool, everything=True)
    assert (replay.executions, sweep.executions, sweep.units, sweep.nodes_created) == (0, 0, 0, 0)
    async with db_pool.acquire() as conn:
        assert await counts(conn) == before


async def test_comments_docstrings_and_whitespace_do_not_change_the_pattern(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    reformatted = AREA_V1.replace('    """Area of a circle."""\n', "    # computes the area\n\n").replace(
        "value = math.pi * radius ** 2", "value  =  math.pi*radius**2   # area"
    )
    assert pattern_id_for(normalize(reformatted, "python")) == pattern_id_for(normalize(AREA_V1, "python"))
    s = ScriptedSession()
    s.turn()
    s.tool("Write", "/repo/a.py", AREA_V1)
    s.tool("Edit", "/repo/a.py", reformatted)
    await s.flush(db_dsn)
    await PatternDeriver().run(db_pool)
    async with db_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pattern_lineage_nodes") == 1
        assert await conn.fetchval("SELECT count(*) FROM pattern_executions") == 2


async def test_blocked_write_is_an_unsuccessful_execution_and_does_not_move_the_file(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    s = ScriptedSession()
    s.turn()
    s.tool("Write", "/repo/a.py", AREA_V1)
    blocked = s.tool("Edit", "/repo/a.py", AREA_V4, status=semconv.STATUS_BLOCKED, quality_score=0.2)
    s.tool("Edit", "/repo/a.py", AREA_V2)
    await s.flush(db_dsn)
    await PatternDeriver().run(db_pool)
    async with db_pool.acquire() as conn:
        x = await conn.fetchrow(
            "SELECT x.success, x.blocked, x.quality_score, n.pattern_version FROM pattern_executions x "
            "JOIN pattern_lineage_nodes n ON n.id = x.node_id WHERE x.tool_use_id = $1",
            blocked,
        )
        assert (x["success"], x["blocked"], x["quality_score"], x["pattern_version"]) == (
            False,
            True,
            0.2,
            "2.0.0",
        )
        # the next edit modifies what the file really held (1.0.0), not the blocked attempt
        edges = await conn.fetch(
            "SELECT s.pattern_version AS sv, t.pattern_version AS tv FROM pattern_lineage_edges e "
            "JOIN pattern_lineage_nodes s ON s.id = e.source_node_id "
            "JOIN pattern_lineage_nodes t ON t.id = e.target_node_id ORDER BY t.created_at"
        )
        assert [(e["sv"], e["tv"]) for e in edges] == [("1.0.0", "2.0.0"), ("1.0.0", "2.0.1")]
        location = await conn.fetchrow("SELECT n.pattern_version FROM pattern_locations l "
                                       "JOIN pattern_lineage_nodes n ON n.id = l.node_id")  # fmt: skip
        assert location["pattern_version"] == "2.0.1"


async def test_other_languages_are_one_pattern_per_file(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    js_v1 = "// helpers\nexport function add(a, b) {\n  return a + b; // sum\n}\n"
    js_v2 = "export function add(a, b) {\n  return a + b;\n}\nexport const ZERO = 0;\n"
    s = ScriptedSession()
    s.turn()
    s.tool("Write", "/repo/util.js", js_v1)
    s.tool("Write", "/repo/util.js", js_v2)
    s.tool("Write", "/repo/notes.txt", "")  # nothing to derive, still claimed
    await s.flush(db_dsn)
    result = await PatternDeriver().run(db_pool)
    assert result.executions == 3
    async with db_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT qualified_name, pattern_type, pattern_name, pattern_version, language FROM pattern_lineage_nodes "
            "ORDER BY created_at"
        )
        assert [tuple(r) for r in rows] == [
            ("<file>", "file", "util.js", "1.0.0", "javascript"),
            ("<file>", "file", "util.js", "1.1.0", "javascript"),
        ]
        assert await conn.fetchval("SELECT count(*) FROM pattern_derived_executions") == 3


async def test_deriver_resumes_from_its_checkpoint(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    s = ScriptedSession()
    s.turn()
    for i in range(5):
        s.tool("Write", f"/repo/m{i}.py", f"def f{i}(x):\n    return x * {i} + {i * 7} - len(str(x))\n")
    await s.flush(db_dsn)
    first = await PatternDeriver(batch_size=2).run(db_pool, max_batches=1)
    assert first.executions == 2
    rest = await PatternDeriver(batch_size=2).run(db_pool)
    assert rest.executions == 3
    async with db_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(DISTINCT pattern_id) FROM pattern_lineage_nodes") == 5


async def test_pathological_code_is_derived_not_fatal(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    """Inputs that exhaust Python's parser (RecursionError / MemoryError in ast) fall back to one unit."""
    s = ScriptedSession()
    s.turn()
    s.tool("Write", "/repo/deep.py", "x = 1" + " + 1" * 5_000 + "\n")
    s.tool("Write", "/repo/neg.py", "x = " + "-" * 7_000 + "1\n")
    big = "\n".join(f"const v{i} = {i};" for i in range(4000))
    s.tool("Write", "/repo/big.js", big)
    s.tool("Write", "/repo/big.js", big.replace("const v7 = 7;", "const v7 = 8;"))
    await s.flush(db_dsn)
    result = await PatternDeriver().run(db_pool)
    assert (result.executions, result.failed) == (4, 0)
    async with db_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT file_path, qualified_name, pattern_version FROM pattern_lineage_nodes ORDER BY created_at"
        )
        assert [tuple(r) for r in rows] == [
            ("/repo/deep.py", "<file>", "1.0.0"),
            ("/repo/neg.py", "<file>", "1.0.0"),
            ("/repo/big.js", "<file>", "1.0.0"),
            ("/repo/big.js", "<file>", "1.0.1"),
        ]


async def test_a_span_that_breaks_the_deriver_is_recorded_and_skipped(
    db_pool: asyncpg.Pool, db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from traceability.lineage_api.deriver import pipeline
    from traceability.lineage_api.deriver.units import split_units as real_split

    def split_or_fail(code: str, language: str, file_path: str | None, tool_name: str | None) -> list:
        if file_path == "/repo/bad.py":
            raise RuntimeError("injected fault")
        return real_split(code, language, file_path, tool_name)

    monkeypatch.setattr(pipeline, "split_units", split_or_fail)
    s = ScriptedSession()
    s.turn()
    s.tool("Write", "/repo/good1.py", "def one():\n    return 1\n")
    s.tool("Write", "/repo/bad.py", "def bad():\n    return 0\n")
    s.tool("Write", "/repo/good2.py", "def two():\n    return 'two'\n")
    await s.flush(db_dsn)
    result = await PatternDeriver().run(db_pool)
    assert (result.executions, result.failed, result.nodes_created) == (3, 1, 2)
    async with db_pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT error FROM pattern_derived_executions WHERE error IS NOT NULL")
            == "RuntimeError: injected fault"
        )
        assert {r[0] for r in await conn.fetch("SELECT qualified_name FROM pattern_lineage_nodes")} == {
            "one",
            "two",
        }
    monkeypatch.setattr(pipeline, "split_units", real_split)
    again = await PatternDeriver().run(db_pool, everything=True)
    assert (again.executions, again.nodes_created, again.failed) == (0, 0, 0)  # recorded: not retried
