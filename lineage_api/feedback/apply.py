"""Applying an improvement: the better version is promoted and the other deprecated, persisted.

In one transaction: both nodes locked and re-checked (neither deprecated meanwhile); the winner's
``status`` set to ``promoted`` and the loser's to ``deprecated``; a ``replaced_by`` edge loser ->
winner (when it is new; its weight is the confidence), inserted by ``store.insert_edges`` like
every edge (its id, and the ancestry cache kept right below the winner); a ``pattern_promoted`` event on the winner and a ``pattern_deprecated`` event on the
loser, carrying the tests that justified it. Repeating an apply changes nothing (dedupe keys).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from traceability.lineage_api.feedback.models import ApplyResult, ValidationResult
from traceability.lineage_api.store import lineage as store
from traceability.lineage_api.store.errors import Conflict
from traceability.lineage_api.store.lineage import Link
from traceability.lineage_api.store.versions import Version

TRIGGERED_BY = "feedback_loop"
EDGE_TYPE = "replaced_by"
TRANSFORMATION_BY_METRIC = {
    "execution_time": "optimization",
    "quality_score": "enhancement",
    "success_rate": "bugfix",
}


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
    reason = (
        f"feedback loop: {best.metric} {best.test} p={best.p_value} "
        f"({'forced' if forced else 'confidence ' + format(confidence, '.4f')})"
    )
    async with conn.transaction():
        locked = await store.lock_nodes(conn, [winner.id, loser.id])
        for version in (winner, loser):
            if version.id not in locked or locked[version.id][1] == "deprecated":
                raise Conflict(
                    f"version {version.pattern_version} of pattern '{version.pattern_id}' is deprecated "
                    "(or gone) since the analysis; analyze again",
                    node_id=str(version.id),
                )
        await store.set_status(conn, winner.id, "promoted")
        await store.set_status(conn, loser.id, "deprecated")
        link = Link(
            locked[loser.id][0],
            EDGE_TYPE,
            TRANSFORMATION_BY_METRIC[best.metric],
            edge_weight=confidence,
            metadata=details,
        )
        created = await store.insert_edges(
            conn, locked[winner.id][0], [link], correlation_id=correlation_id, created_by=TRIGGERED_BY
        )
        edge_id = created[0] if created else await store.edge_id(conn, loser.id, winner.id, EDGE_TYPE)
        event_ids = [
            await store.insert_event(
                conn,
                node_id=node.id,
                pattern_id=node.pattern_id,
                event_type=event_type,
                event_subtype=TRIGGERED_BY,
                event_data=details,
                triggered_by=TRIGGERED_BY,
                parent_pattern_ids=[other.pattern_id],
                parent_node_ids=[other.id],
                reason=reason,
                correlation_id=correlation_id,
                dedupe_key=f"feedback:{kind}:{loser.id}:{winner.id}",
            )
            for node, other, event_type, kind in (
                (winner, loser, "pattern_promoted", "promoted"),
                (loser, winner, "pattern_deprecated", "deprecated"),
            )
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
        edge_created=bool(created),
        event_ids=[e for e in event_ids if e is not None],
        correlation_id=correlation_id,
    )
