"""What a pattern's page shows: its versions, the lineage graph around it, and its executions per day."""

from __future__ import annotations

from datetime import datetime

import asyncpg

GRAPH_NODE_LIMIT = 300  # a lineage graph is drawn with at most this many versions

# Every node linked to the pattern's versions by edges, in both directions. UNION keeps each node
# once, so the walk visits every node and edge at most once however dense or cyclic the graph is.
_GRAPH_SQL = """
WITH RECURSIVE reach(node_id) AS (
    SELECT id FROM pattern_lineage_nodes WHERE pattern_id = $1
    UNION
    SELECT CASE WHEN e.source_node_id = r.node_id THEN e.target_node_id ELSE e.source_node_id END
    FROM reach r JOIN pattern_lineage_edges e
      ON e.source_node_id = r.node_id OR e.target_node_id = r.node_id
)
SELECT n.id, n.pattern_id, n.pattern_name, n.pattern_version, n.generation, n.status, n.created_at
FROM (SELECT node_id FROM reach LIMIT $2) r JOIN pattern_lineage_nodes n ON n.id = r.node_id
ORDER BY n.created_at, n.id
"""


async def versions(conn: asyncpg.Connection, pattern_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT n.id, n.pattern_id, n.pattern_name, n.pattern_type, n.pattern_version, n.generation,
                  n.status, n.language, n.file_path, n.qualified_name, n.created_at, n.correlation_id,
                  (SELECT count(*) FROM pattern_executions x WHERE x.node_id = n.id) AS executions
           FROM pattern_lineage_nodes n WHERE n.pattern_id = $1
           ORDER BY n.created_at, n.generation, n.id""",
        pattern_id,
    )
    return rows


async def graph(
    conn: asyncpg.Connection, pattern_id: str
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """The nodes connected to the pattern (at most ``GRAPH_NODE_LIMIT``) and the edges among them."""
    nodes = await conn.fetch(_GRAPH_SQL, pattern_id, GRAPH_NODE_LIMIT)
    ids = [n["id"] for n in nodes]
    edges = await conn.fetch(
        """SELECT source_node_id, target_node_id, edge_type, transformation_type
           FROM pattern_lineage_edges
           WHERE source_node_id = ANY($1::uuid[]) AND target_node_id = ANY($1::uuid[])
           ORDER BY created_at, id""",
        ids,
    )
    return nodes, edges


async def daily(
    conn: asyncpg.Connection, pattern_id: str, start: datetime, end: datetime
) -> list[asyncpg.Record]:
    """Per UTC day in [start, end): executions, success rate, latency percentiles, mean quality."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT date_trunc('day', executed_at AT TIME ZONE 'UTC') AS day,
                  count(*) AS executions,
                  avg(CASE WHEN success AND NOT blocked THEN 1.0 ELSE 0.0 END)::float8 AS success_rate,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
                  percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99,
                  avg(quality_score) AS quality
           FROM pattern_executions
           WHERE pattern_id = $1 AND executed_at >= $2 AND executed_at < $3
           GROUP BY 1 ORDER BY 1""",
        pattern_id,
        start,
        end,
    )
    return rows
