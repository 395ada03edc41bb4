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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from traceability.exporter.storage.errors import TRANSIENT_DB_ERRORS
from traceability.instrumentation import semconv
from traceability.lineage_api.deriver import similarity
from traceability.lineage_api.deriver.normalize import detect_language, normalize
from traceability.lineage_api.deriver.tool_use import ToolUse, execution_row
from traceability.lineage_api.deriver.unit_lineage import Written, derive_unit
from traceability.lineage_api.deriver.units import split_units
from traceability.lineage_api.store import derivation as db
from traceability.lineage_api.store.catalog import DERIVER_CHECKPOINT

log = logging.getLogger(__name__)


@dataclass
class DeriveResult:
    executions: int = 0  # tool spans read
    units: int = 0
    nodes_created: int = 0
    failed: int = 0  # tool spans that could not be derived (recorded in pattern_derived_executions.error)
    busy: bool = False  # another deriver holds the lock


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
                outcome = await derive_unit(conn, self.index, Written(use, unit, language, normalized))
                if outcome.signature is not None:
                    new_signatures.append((str(outcome.node.id), outcome.signature, row["file_path"]))
                result.nodes_created += outcome.created
                await db.insert_execution(conn, execution_row(use, outcome.node))
                result.units += 1
        for key, signature, file_path in new_signatures:  # committed: now visible to later lookups
            self.index.add(key, signature, file_path)
