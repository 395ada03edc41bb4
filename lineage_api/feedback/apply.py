"""Applying an improvement: the better version is promoted and the other deprecated, persisted.

In one transaction: both nodes locked and re-checked (neither deprecated meanwhile); the winner's
``status`` set to ``promoted`` and the loser's to ``deprecated``; a ``replaced_by`` edge loser ->
winner (when it is new; its weight is the confidence) and the ancestry cache below the winner
marked stale; a ``pattern_promoted`` event on the winner and a ``pattern_deprecated`` event on the
loser, carrying the tests that justified it. Repeating an apply changes nothing (dedupe keys).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from traceability.lineage_api.feedback.models import ApplyResult, ValidationResult
from traceability.lineage_api.feedback.versions import Version
from traceability.lineage_api.store import lineage as store
from traceability.lineage_api.store.errors import Conflict

TRIGGERED_BY = "feedback_loop"
EDGE_TYPE = "replaced_by"
TRANSFORMATION_BY_METRIC = {
    "execution_time": "optimization",
    "quality_score": "enhancement",
    "success_rate": "bugfix",
}

_LOCK_SQL = "SELECT id, status FROM pattern_lineage_nodes WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"
_SET_STATUS_SQL = "UPDATE pattern_lineage_nodes SET status = $2 WHERE id = $1"
_EDGE_SQL = """
INSERT INTO pattern_lineage_edges (source_node_id, target_node_id, edge_type, transformation_type,
                                   edge_weight, metadata, correlation_id, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (source_node_id, target_node_id, edge_type) DO NOTHING
RETURNING id
"""
_EXISTING_EDGE_SQL = """
SELECT id FROM pattern_lineage_edges WHERE source_node_id = $1 AND target_node_id = $2 AND edge_type = $3
"""


def _tests(improvements: list[ValidationResult]) -> list[dict[str, Any]]:
    return [v.model_dump(mode="json") for v in improvements]


async def promote(
    conn: asyncpg.Connection,
    *,
    pattern_id: str,
    winner: Version,
    loser: Version,
    improvements: list[ValidationResult],
    correlation_id: uuid.UUID,
    forced: bool,
) -> ApplyResult:
    """Promote ``winner`` over ``loser`` in the lineage tables; Conflict if either is deprecated."""
    best = max(improvements, key=lambda v: v.confidence or 0.0)
    confidence = best.confidence or 0.0
    details = {
        "improvement_ids": [v.improvement_id for v in improvements],
        "tests": _tests(improvements),
        "forced": forced,
        "winner_node_id": str(winner.id),
        "loser_node_id": str(loser.id),
    }
    async with conn.transaction():
        rows = {r["id"]: r["status"] for r in await conn.fetch(_LOCK_SQL, [winner.id, loser.id])}
        for version in (winner, loser):
            if rows.get(version.id, "deprecated") == "deprecated":
                raise Conflict(
                    f"version {version.pattern_version} of pattern '{version.pattern_id}' is deprecated "
                    "(or gone) since the analysis; analyze again",
                    node_id=str(version.id),
                )
        await conn.execute(_SET_STATUS_SQL, winner.id, "promoted")
        await conn.execute(_SET_STATUS_SQL, loser.id, "deprecated")
        edge_id = await conn.fetchval(
            _EDGE_SQL,
            loser.id,
            winner.id,
            EDGE_TYPE,
            TRANSFORMATION_BY_METRIC[best.metric],
            round(min(max(confidence, 0.0), 1.0), 4),
            details,
            correlation_id,
            TRIGGERED_BY,
        )
        edge_created = edge_id is not None
        if edge_created:
            await store.invalidate_ancestry_below(conn, winner.id)
        else:
            edge_id = await conn.fetchval(_EXISTING_EDGE_SQL, loser.id, winner.id, EDGE_TYPE)
        reason = (
            f"feedback loop: {best.metric} {best.test} p={best.p_value} "
            f"({'forced' if forced else 'confidence ' + format(confidence, '.4f')})"
        )
        event_ids = [
            await store.insert_event(
                conn,
                node_id=winner.id,
                pattern_id=winner.pattern_id,
                event_type="pattern_promoted",
                event_subtype=TRIGGERED_BY,
                event_data=details,
                triggered_by=TRIGGERED_BY,
                parent_pattern_ids=[loser.pattern_id],
                parent_node_ids=[loser.id],
                reason=reason,
                correlation_id=correlation_id,
                dedupe_key=f"feedback:promoted:{loser.id}:{winner.id}",
            ),
            await store.insert_event(
                conn,
                node_id=loser.id,
                pattern_id=loser.pattern_id,
                event_type="pattern_deprecated",
                event_subtype=TRIGGERED_BY,
                event_data=details,
                triggered_by=TRIGGERED_BY,
                parent_pattern_ids=[winner.pattern_id],
                parent_node_ids=[winner.id],
                reason=reason,
                correlation_id=correlation_id,
                dedupe_key=f"feedback:deprecated:{loser.id}:{winner.id}",
            ),
        ]
    return ApplyResult(
        pattern_id=pattern_id,
        applied_improvement_ids=[v.improvement_id for v in improvements],
        forced=forced,
        promoted_node_id=winner.id,
        promoted_version=winner.pattern_version,
        deprecated_node_id=loser.id,
        deprecated_version=loser.pattern_version,
        edge_id=edge_id,
        edge_created=edge_created,
        event_ids=[e for e in event_ids if e is not None],
        correlation_id=correlation_id,
    )
