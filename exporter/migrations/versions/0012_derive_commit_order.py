"""The pattern deriver follows commit order: hook_executions rows carry their transaction id.

The deriver used to move a checkpoint over ``(created_at, started_at, id)`` once rows were 2 s
old. ``created_at`` is the inserting transaction's start, so a transaction that took longer than
that to commit (a large batch, a row lock) had its rows land behind the checkpoint, never to be
derived. Now every row records the id of the transaction that inserted it (``ingest_xid``,
``pg_current_xact_id()``), and the deriver's position is a watermark over ``(ingest_xid,
created_at, started_at, id)`` that never passes the oldest transaction still running
(``pg_snapshot_xmin(pg_current_snapshot())``): rows committed later always sort at or after it.

Rows stored before this migration read ``ingest_xid = 0`` (a constant default, so adding the
column does not rewrite the table); new rows get the real id. The partial index serves the
deriver's scan of code-writing tool spans in that order and replaces the full index on
``(created_at, id)`` that served the old scan. The old checkpoint is dropped: the deriver starts
from the beginning once, and its claims (``pattern_derived_executions``) skip what was derived.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from traceability.exporter.migrations.sql import run_script

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE hook_executions ADD COLUMN ingest_xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE hook_executions ALTER COLUMN ingest_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX idx_hook_executions_derive ON hook_executions (ingest_xid, created_at, started_at, id)
    WHERE span_type = 'tool' AND tool_name IN ('Write', 'Edit', 'MultiEdit', 'NotebookEdit');
DROP INDEX IF EXISTS idx_hook_executions_created;
-- the old checkpoint's format means nothing now: start from the beginning (claims skip what is done)
DELETE FROM traceability_checkpoints WHERE name = 'pattern_deriver'
"""

DOWNGRADE = r"""
CREATE INDEX idx_hook_executions_created ON hook_executions(created_at, id);
DROP INDEX IF EXISTS idx_hook_executions_derive;
ALTER TABLE hook_executions DROP COLUMN ingest_xid;
DELETE FROM traceability_checkpoints WHERE name = 'pattern_deriver'
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
