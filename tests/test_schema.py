"""The migrated schema has every column and index the readers of its tables rely on, and migrations go
down and up again."""

from __future__ import annotations

import asyncio

import asyncpg

from traceability.exporter.storage import database

REQUIRED_COLUMNS = {
    "execution_traces": (
        "id correlation_id root_id parent_id session_id user_id source prompt_text started_at "
        "completed_at duration_ms status success error_message error_type context tags created_at updated_at"
    ),
    "hook_executions": (
        "id trace_id hook_type hook_name execution_order tool_name file_path started_at completed_at "
        "duration_ms status input_data output_data modifications_made rag_query_performed rag_results "
        "quality_check_performed quality_results error_message error_type error_stack metadata "
        "created_at updated_at"
    ),
    "pattern_lineage_nodes": (
        "id pattern_id pattern_name pattern_type pattern_version pattern_data generation metadata created_at"
    ),
    "pattern_lineage_edges": (
        "id source_node_id target_node_id edge_type transformation_type edge_weight metadata created_at"
    ),
    "pattern_lineage_events": "id node_id event_type event_data triggered_by created_at",
    "pattern_ancestry_cache": "pattern_node_id ancestor_ids ancestry_depth total_ancestors is_stale",
}

REQUIRED_INDEXES = {
    "idx_execution_traces_correlation",
    "idx_execution_traces_session",
    "idx_hook_executions_trace",
    "idx_hook_executions_order",
    "idx_pattern_nodes_pattern_id",
    "idx_pattern_edges_source",
    "idx_pattern_edges_target",
}


async def _columns(dsn: str) -> dict[str, set[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema='public'"
        )
    finally:
        await conn.close()
    out: dict[str, set[str]] = {}
    for row in rows:
        out.setdefault(row["table_name"], set()).add(row["column_name"])
    return out


def test_every_required_column_exists(db_dsn: str) -> None:
    columns = asyncio.run(_columns(db_dsn))
    for table, names in REQUIRED_COLUMNS.items():
        missing = set(names.split()) - columns.get(table, set())
        assert not missing, f"{table} lacks required columns {missing}"


async def test_required_indexes_exist(db_pool: asyncpg.Pool) -> None:
    rows = await db_pool.fetch("SELECT indexname FROM pg_indexes WHERE schemaname='public'")
    assert {r["indexname"] for r in rows} >= REQUIRED_INDEXES


def test_downgrade_to_base_and_upgrade_again(db_dsn: str) -> None:
    database.downgrade(db_dsn, "base")
    assert "execution_traces" not in asyncio.run(_columns(db_dsn))
    database.upgrade(db_dsn)
    assert REQUIRED_COLUMNS.keys() <= asyncio.run(_columns(db_dsn)).keys()


async def test_current_revision_is_head(db_pool: asyncpg.Pool) -> None:
    async with db_pool.acquire() as conn:
        assert await database.current_revision(conn) == database.head_revision()
