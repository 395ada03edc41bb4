"""The pattern deriver: code-writing tool spans in hook_executions -> patterns, lineage, executions.

For every tool span (span_type 'tool', tool Write/Edit/MultiEdit/NotebookEdit) not derived yet, in commit
order (the position is a transaction-id watermark, see ``store.derivation.Position``), one transaction:

1. split the code it wrote, or tried to write when it failed or was blocked (the hook keeps it from
   PreToolUse: ``traceability.code.content``), into units: Python functions, classes
   and methods by qualified name, otherwise the whole text;
2. per unit, with ``slot`` = (file, qualified name) and ``hash`` = SHA-256 of the normalized code:
   - the slot already holds this code: nothing new;
   - the slot is the home of a pattern (its versions were written there): a new version of that
     pattern, ``modified_from`` the slot's version, semver bump and transformation type from the
     similarity (a return to an earlier version's code is recorded as ``pattern_applied``);
   - otherwise, code identical to an existing version: ``pattern_applied`` on that version;
   - otherwise a new pattern (id = first 16 hex of the hash), linked ``derived_from`` to the most
     similar version in another file found through the MinHash/LSH index (``pattern_forked`` when
     the slot held a copy of it, ``pattern_created`` otherwise);
3. link the tool use to every unit's version as a ``pattern_executions`` row;
4. move the slot to the written version, unless the tool use failed or was blocked.

Idempotent: node and execution ids are deterministic, events carry a dedupe key, and a tool span
is claimed in ``pattern_derived_executions`` in the same transaction; unclaimed spans are what is
pending. Resumable: the position is kept in ``traceability_checkpoints``; it never passes a
transaction still running, so a span committed late is derived on the next pass. One deriver runs
at a time per database (advisory lock).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from traceability.exporter.storage.errors import TRANSIENT_DB_ERRORS
from traceability.instrumentation import semconv
from traceability.lineage_api.deriver import similarity
from traceability.lineage_api.deriver.normalize import code_hash, detect_language, normalize, pattern_id_for
from traceability.lineage_api.deriver.units import CodeUnit, split_units
from traceability.lineage_api.store import derivation as db
from traceability.lineage_api.store import lineage as store
from traceability.lineage_api.store.catalog import DERIVER_CHECKPOINT
from traceability.lineage_api.store.lineage import Link, NewNode

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("6b1f3c52-8f0e-4c86-9d3e-7a51c2d0e404")
TRIGGERED_BY = "pattern_deriver"
MAX_STORED_CODE = 64 * 1024
UNKNOWN_FILE = "<unknown>"


@dataclass
class DeriveResult:
    executions: int = 0  # tool spans read
    units: int = 0
    nodes_created: int = 0
    failed: int = 0  # tool spans that could not be derived (recorded in pattern_derived_executions.error)
    busy: bool = False  # another deriver holds the lock


@dataclass(frozen=True)
class ToolUse:
    row: asyncpg.Record

    @property
    def attributes(self) -> dict[str, Any]:
        attrs = self.row["attributes"]
        return attrs if isinstance(attrs, dict) else {}

    @property
    def blocked(self) -> bool:
        return (
            self.row["status"] == semconv.STATUS_BLOCKED or self.attributes.get(semconv.TOOL_BLOCKED) is True
        )

    @property
    def succeeded(self) -> bool:
        return bool(self.row["success"]) and self.row["status"] not in (
            semconv.STATUS_FAILED,
            semconv.STATUS_BLOCKED,
        )

    @property
    def tool_use_key(self) -> str:
        return self.row["tool_use_id"] or str(self.row["id"])


class PatternDeriver:
    """Keeps the similarity index between runs; :meth:`run` derives everything pending."""

    def __init__(self, *, batch_size: int = 500) -> None:
        self.batch_size = batch_size
        self.index = similarity.SimilarityIndex()
        self._index_loaded_at: datetime | None = None

    async def pending(self, pool: asyncpg.Pool, *, everything: bool = False) -> int:
        """Tool spans left to derive: after the checkpoint, or anywhere (``everything``)."""
        async with pool.acquire() as conn:
            start = db.START if everything else await db.get_checkpoint(conn, DERIVER_CHECKPOINT)
            return await db.count_pending(conn, start)

    async def run(
        self,
        pool: asyncpg.Pool,
        *,
        max_batches: int | None = None,
        progress: Callable[[int], None] | None = None,
        everything: bool = False,
    ) -> DeriveResult:
        """Derive pending tool spans batch by batch; ``progress(n)`` after each batch of n.

        Starts at the checkpoint (see :class:`~traceability.lineage_api.store.derivation.Position`),
        or with ``everything`` at the very beginning: a sweep that finds any tool span left
        underived, whatever the checkpoint says (``traceability derive``).
        """
        result = DeriveResult()
        async with pool.acquire() as conn:
            if not await db.try_lock(conn):
                result.busy = True
                return result
            try:
                await self._refresh_index(conn)
                saved = await db.get_checkpoint(conn, DERIVER_CHECKPOINT)
                position = db.START if everything else saved
                batches = 0
                while max_batches is None or batches < max_batches:
                    rows = await db.fetch_pending(conn, position, self.batch_size)
                    for row in rows:
                        await self._derive_guarded(conn, ToolUse(row), result)
                    position = await db.next_position(conn, position)
                    if position != saved:
                        await db.set_checkpoint(conn, DERIVER_CHECKPOINT, position)
                        saved = position
                    if not rows:
                        break
                    result.executions += len(rows)
                    batches += 1
                    if progress:
                        progress(len(rows))
            finally:
                await db.unlock(conn)
        return result

    async def _refresh_index(self, conn: asyncpg.Connection) -> None:
        for sig in await db.signatures_since(conn, self._index_loaded_at):
            key = str(sig["node_id"])
            if key not in self.index:
                self.index.add(key, similarity.from_bytes(sig["minhash"]), sig["file_path"])
            self._index_loaded_at = sig["created_at"]

    async def _derive_guarded(self, conn: asyncpg.Connection, use: ToolUse, result: DeriveResult) -> None:
        """Derive one tool span; one that breaks the deriver is recorded and skipped, not retried forever."""
        try:
            await self._derive_one(conn, use, result)
        except TRANSIENT_DB_ERRORS:
            raise  # the database went away: retry the whole batch later
        except Exception as exc:
            log.exception("cannot derive patterns from hook execution %s; skipping it", use.row["id"])
            await db.mark_failed(conn, use.row["id"], f"{type(exc).__name__}: {exc}")
            result.failed += 1

    async def _derive_one(self, conn: asyncpg.Connection, use: ToolUse, result: DeriveResult) -> None:
        row = use.row
        attrs = use.attributes
        code = attrs.get(semconv.CODE_CONTENT)
        language = detect_language(row["file_path"], attrs.get(semconv.CODE_LANGUAGE))
        units = (
            split_units(code, language, row["file_path"], row["tool_name"]) if isinstance(code, str) else []
        )
        new_signatures: list[tuple[str, similarity.MinHash, str | None]] = []
        async with conn.transaction():
            if not await db.mark_derived(conn, row["id"], len(units)):
                return
            for unit in units:
                normalized = normalize(unit.code, language)
                if not normalized:
                    continue
                node, signature = await self._derive_unit(conn, use, unit, language, normalized, result)
                if signature is not None:
                    new_signatures.append((str(node.id), signature, row["file_path"]))
                await db.insert_execution(conn, _execution_row(use, node))
                result.units += 1
        for key, signature, file_path in new_signatures:  # committed: now visible to later lookups
            self.index.add(key, signature, file_path)

    async def _derive_unit(
        self,
        conn: asyncpg.Connection,
        use: ToolUse,
        unit: CodeUnit,
        language: str,
        normalized: str,
        result: DeriveResult,
    ) -> tuple[store.NodeRef, similarity.MinHash | None]:
        row = use.row
        file_path = row["file_path"] or UNKNOWN_FILE
        digest = code_hash(normalized)
        slot = await db.location(conn, file_path, unit.qualified_name)
        node: store.NodeRef | None = None
        signature: similarity.MinHash | None = None

        if slot is not None and slot["code_hash"] == digest:
            node = await store.resolve_node(conn, slot["pattern_id"], slot["pattern_version"])
        elif slot is not None and slot["is_home"]:
            same = await db.node_by_hash(conn, digest, slot["pattern_id"])
            if same is not None:  # back to an earlier version's code
                node = await store.resolve_node(conn, same["pattern_id"], same["pattern_version"])
                await self._applied(conn, use, node, unit, subtype="revert")
            else:
                parent = await store.resolve_node(conn, slot["pattern_id"], slot["pattern_version"])
                sim = similarity.ratio(slot["normalized"] or "", normalized)
                latest = max(await db.versions(conn, slot["pattern_id"]), key=similarity.parse_semver)
                version = similarity.bump(latest, similarity.bump_level(sim))
                link = Link(
                    parent,
                    "modified_from",
                    similarity.transformation_type(slot["normalized"] or "", normalized, sim),
                    edge_weight=sim,
                    metadata={"similarity": round(sim, 4), "bump": similarity.bump_level(sim)},
                )
                node, signature = await self._insert(
                    conn,
                    use,
                    unit,
                    language,
                    normalized,
                    slot["pattern_id"],
                    version,
                    "pattern_modified",
                    [link],
                )
                result.nodes_created += 1
        else:
            same = await db.node_by_hash(conn, digest)
            if same is not None:
                node = await store.resolve_node(conn, same["pattern_id"], same["pattern_version"])
                await self._applied(conn, use, node, unit, subtype="copy")
            else:
                signature = similarity.minhash(normalized)
                links = await self._similar_parents(conn, signature, normalized, file_path, slot)
                forked = slot is not None and bool(links) and links[0].parent.id == slot["node_id"]
                node, signature = await self._insert(
                    conn,
                    use,
                    unit,
                    language,
                    normalized,
                    pattern_id_for(normalized),
                    "1.0.0",
                    "pattern_forked" if forked else "pattern_created",
                    links,
                    signature=signature,
                )
                result.nodes_created += 1

        if use.succeeded:
            await db.set_location(
                conn,
                file_path=file_path,
                qualified_name=unit.qualified_name,
                pattern_id=node.pattern_id,
                node_id=node.id,
                code_hash=digest,
                language=language,
                tool_use_id=row["tool_use_id"],
            )
        return node, signature

    async def _similar_parents(
        self,
        conn: asyncpg.Connection,
        signature: similarity.MinHash,
        normalized: str,
        file_path: str,
        slot: asyncpg.Record | None,
    ) -> list[Link]:
        """The most similar version written in another file (LSH candidates, verified exactly)."""
        keys = set(self.index.candidates(signature, exclude_file=file_path))
        if slot is not None:  # the copy this slot held is always a candidate
            keys.add(str(slot["node_id"]))
        if not keys:
            return []
        best: tuple[float, asyncpg.Record] | None = None
        for cand in await db.node_codes(conn, [uuid.UUID(k) for k in keys]):
            sim = similarity.ratio(cand["normalized"] or "", normalized)
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
                similarity.transformation_type(cand["normalized"] or "", normalized, sim),
                edge_weight=sim,
                metadata={"similarity": round(sim, 4), "source_file": cand["file_path"]},
            )
        ]

    async def _insert(
        self,
        conn: asyncpg.Connection,
        use: ToolUse,
        unit: CodeUnit,
        language: str,
        normalized: str,
        pattern_id: str,
        version: str,
        event_type: str,
        links: list[Link],
        signature: similarity.MinHash | None = None,
    ) -> tuple[store.NodeRef, similarity.MinHash]:
        row = use.row
        digest = code_hash(normalized)
        new = NewNode(
            pattern_id=pattern_id,
            pattern_name=unit.name,
            pattern_type=unit.kind,
            pattern_version=version,
            pattern_data={
                "code": unit.code[:MAX_STORED_CODE],
                "normalized": normalized[:MAX_STORED_CODE],
                "language": language,
                "qualified_name": unit.qualified_name,
            },
            event_type=event_type,
            triggered_by=TRIGGERED_BY,
            tool_name=row["tool_name"],
            file_path=row["file_path"],
            language=language,
            metadata={
                "tool_use_id": row["tool_use_id"],
                "hook_execution_id": str(row["id"]),
                "session_id": row["session_id"],
                "succeeded": use.succeeded,
                "blocked": use.blocked,
            },
            code_hash=digest,
            qualified_name=unit.qualified_name,
            correlation_id=row["trace_id"],
            source_system=TRIGGERED_BY,
            node_id=uuid.uuid5(NAMESPACE, f"node:{pattern_id}:{version}"),
            created_at=row["started_at"],
        )
        op = await store.insert_node(
            conn, new, links, dedupe_key=f"derive:{row['id']}:{unit.qualified_name}:{event_type}"
        )
        signature = signature or similarity.minhash(normalized)
        await db.save_signature(conn, op.node.id, row["file_path"], similarity.to_bytes(signature))
        return op.node, signature

    async def _applied(
        self, conn: asyncpg.Connection, use: ToolUse, node: store.NodeRef, unit: CodeUnit, *, subtype: str
    ) -> None:
        row = use.row
        await store.insert_event(
            conn,
            node_id=node.id,
            pattern_id=node.pattern_id,
            event_type="pattern_applied",
            event_subtype=subtype,
            event_data={
                "file_path": row["file_path"],
                "qualified_name": unit.qualified_name,
                "tool_name": row["tool_name"],
            },
            triggered_by=TRIGGERED_BY,
            metadata={"tool_use_id": row["tool_use_id"], "hook_execution_id": str(row["id"])},
            correlation_id=row["trace_id"],
            dedupe_key=f"derive:{row['id']}:{unit.qualified_name}:pattern_applied",
            created_at=row["started_at"],
            success=use.succeeded,
        )


def _execution_row(use: ToolUse, node: store.NodeRef) -> dict[str, Any]:
    row = use.row
    duration = row["tool_duration_ms"] if row["tool_duration_ms"] is not None else row["duration_ms"]
    return {
        "id": uuid.uuid5(NAMESPACE, f"execution:{node.id}:{use.tool_use_key}"),
        "node_id": node.id,
        "pattern_id": node.pattern_id,
        "tool_use_id": use.tool_use_key,
        "trace_id": row["trace_id"],
        "hook_execution_id": row["id"],
        "session_id": row["session_id"],
        "user_id": row["user_id"],
        "tool_name": row["tool_name"],
        "file_path": row["file_path"],
        "executed_at": row["started_at"],
        "duration_ms": float(duration) if duration is not None else None,
        "success": use.succeeded and not use.blocked,
        "blocked": use.blocked,
        "quality_score": row["quality_score"],
    }
