"""What one code unit written by a tool use becomes in the lineage (step 2 of ``deriver.pipeline``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from traceability.lineage_api.deriver import similarity
from traceability.lineage_api.deriver.normalize import code_hash, pattern_id_for
from traceability.lineage_api.deriver.tool_use import NAMESPACE, TRIGGERED_BY, ToolUse
from traceability.lineage_api.deriver.units import CodeUnit
from traceability.lineage_api.store import derivation as db
from traceability.lineage_api.store import lineage as store
from traceability.lineage_api.store.lineage import Link, NewNode, NodeRef

MAX_STORED_CODE = 64 * 1024
UNKNOWN_FILE = "<unknown>"


@dataclass(frozen=True)
class Written:
    """A code unit a tool use wrote (or tried to), normalized."""

    use: ToolUse
    unit: CodeUnit
    language: str
    normalized: str

    @property
    def file_path(self) -> str:
        return self.use.row["file_path"] or UNKNOWN_FILE

    @property
    def digest(self) -> str:
        return code_hash(self.normalized)

    def dedupe_key(self, event_type: str) -> str:
        return f"derive:{self.use.row['id']}:{self.unit.qualified_name}:{event_type}"


@dataclass(frozen=True)
class UnitOutcome:
    node: NodeRef  # the version the unit is (new or existing)
    signature: similarity.MinHash | None  # a new version's MinHash, for the index once committed
    created: bool


async def derive_unit(conn: asyncpg.Connection, index: similarity.SimilarityIndex, w: Written) -> UnitOutcome:
    """The version ``w`` is: the slot's, a new version of the slot's pattern, a copy of an existing
    version, or a new pattern (derived from the most similar one elsewhere); the slot moves to it
    when the tool use succeeded."""
    digest = w.digest
    slot = await db.location(conn, w.file_path, w.unit.qualified_name)
    outcome: UnitOutcome
    if slot is not None and slot["code_hash"] == digest:
        node = await store.resolve_node(conn, slot["pattern_id"], slot["pattern_version"])
        outcome = UnitOutcome(node, None, created=False)
    elif slot is not None and slot["is_home"]:
        same = await db.node_by_hash(conn, digest, slot["pattern_id"])
        if same is not None:  # back to an earlier version's code
            outcome = await _applied(conn, w, same, subtype="revert")
        else:
            outcome = await _new_version(conn, w, slot)
    else:
        same = await db.node_by_hash(conn, digest)
        if same is not None:
            outcome = await _applied(conn, w, same, subtype="copy")
        else:
            signature = similarity.minhash(w.normalized)
            links = await _similar_parents(conn, index, w, signature, slot)
            forked = slot is not None and bool(links) and links[0].parent.id == slot["node_id"]
            event_type = "pattern_forked" if forked else "pattern_created"
            outcome = await _insert(
                conn, w, pattern_id_for(w.normalized), "1.0.0", event_type, links, signature
            )

    if w.use.succeeded:
        await db.set_location(
            conn,
            file_path=w.file_path,
            qualified_name=w.unit.qualified_name,
            pattern_id=outcome.node.pattern_id,
            node_id=outcome.node.id,
            code_hash=digest,
            language=w.language,
            tool_use_id=w.use.row["tool_use_id"],
        )
    return outcome


async def _new_version(conn: asyncpg.Connection, w: Written, slot: asyncpg.Record) -> UnitOutcome:
    """A new version of the slot's pattern, ``modified_from`` the slot's version (semver bump by similarity)."""
    parent = await store.resolve_node(conn, slot["pattern_id"], slot["pattern_version"])
    before = slot["normalized"] or ""
    sim = similarity.ratio(before, w.normalized)
    latest = max(await db.versions(conn, slot["pattern_id"]), key=similarity.parse_semver)
    link = Link(
        parent,
        "modified_from",
        similarity.transformation_type(before, w.normalized, sim),
        edge_weight=sim,
        metadata={"similarity": round(sim, 4), "bump": similarity.bump_level(sim)},
    )
    version = similarity.bump(latest, similarity.bump_level(sim))
    return await _insert(conn, w, slot["pattern_id"], version, "pattern_modified", [link])


async def _similar_parents(
    conn: asyncpg.Connection,
    index: similarity.SimilarityIndex,
    w: Written,
    signature: similarity.MinHash,
    slot: asyncpg.Record | None,
) -> list[Link]:
    """The most similar version written in another file (LSH candidates, verified exactly)."""
    keys = set(index.candidates(signature, exclude_file=w.file_path))
    if slot is not None:  # the copy this slot held is always a candidate
        keys.add(str(slot["node_id"]))
    if not keys:
        return []
    best: tuple[float, asyncpg.Record] | None = None
    for cand in await db.node_codes(conn, [uuid.UUID(k) for k in keys]):
        sim = similarity.ratio(cand["normalized"] or "", w.normalized)
        if sim >= similarity.DERIVED_MIN_RATIO and (best is None or sim > best[0]):
            best = (sim, cand)
    if best is None:
        return []
    sim, cand = best
    parent = await store.resolve_node(conn, cand["pattern_id"], cand["pattern_version"])
    return [
        Link(
            parent,
            "derived_from",
            similarity.transformation_type(cand["normalized"] or "", w.normalized, sim),
            edge_weight=sim,
            metadata={"similarity": round(sim, 4), "source_file": cand["file_path"]},
        )
    ]


async def _insert(
    conn: asyncpg.Connection,
    w: Written,
    pattern_id: str,
    version: str,
    event_type: str,
    links: list[Link],
    signature: similarity.MinHash | None = None,
) -> UnitOutcome:
    row, unit = w.use.row, w.unit
    new = NewNode(
        pattern_id=pattern_id,
        pattern_name=unit.name,
        pattern_type=unit.kind,
        pattern_version=version,
        pattern_data={
            "code": unit.code[:MAX_STORED_CODE],
            "normalized": w.normalized[:MAX_STORED_CODE],
            "language": w.language,
            "qualified_name": unit.qualified_name,
        },
        event_type=event_type,
        triggered_by=TRIGGERED_BY,
        tool_name=row["tool_name"],
        file_path=row["file_path"],
        language=w.language,
        metadata={
            "tool_use_id": row["tool_use_id"],
            "hook_execution_id": str(row["id"]),
            "session_id": row["session_id"],
            "succeeded": w.use.succeeded,
            "blocked": w.use.blocked,
        },
        code_hash=w.digest,
        qualified_name=unit.qualified_name,
        correlation_id=row["trace_id"],
        source_system=TRIGGERED_BY,
        node_id=uuid.uuid5(NAMESPACE, f"node:{pattern_id}:{version}"),
        created_at=row["started_at"],
    )
    op = await store.insert_node(conn, new, links, dedupe_key=w.dedupe_key(event_type))
    signature = signature or similarity.minhash(w.normalized)
    await db.save_signature(conn, op.node.id, row["file_path"], similarity.to_bytes(signature))
    return UnitOutcome(op.node, signature, created=True)


async def _applied(
    conn: asyncpg.Connection, w: Written, same: asyncpg.Record, *, subtype: str
) -> UnitOutcome:
    """The unit is an existing version's code: a ``pattern_applied`` event on that version."""
    node = await store.resolve_node(conn, same["pattern_id"], same["pattern_version"])
    row = w.use.row
    await store.insert_event(
        conn,
        node_id=node.id,
        pattern_id=node.pattern_id,
        event_type="pattern_applied",
        event_subtype=subtype,
        event_data={
            "file_path": row["file_path"],
            "qualified_name": w.unit.qualified_name,
            "tool_name": row["tool_name"],
        },
        triggered_by=TRIGGERED_BY,
        metadata={"tool_use_id": row["tool_use_id"], "hook_execution_id": str(row["id"])},
        correlation_id=row["trace_id"],
        dedupe_key=w.dedupe_key("pattern_applied"),
        created_at=row["started_at"],
        success=w.use.succeeded,
    )
    return UnitOutcome(node, None, created=False)
