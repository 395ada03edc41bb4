"""A span batch holds its session's lock for less time: hook rows first, the trace rows last.

Inserting or updating ``execution_traces`` rows refreshes their sessions (0010's statement-level
triggers), which takes a transaction-scoped advisory lock per session: every batch of one session
waits for the one before it to commit. A batch used to write its trace rows first (the hook
rows' foreign key needs them) and then COPY its hook rows with that lock held, so batches of one
session were written one at a time. The foreign key from ``hook_executions`` to
``execution_traces`` becomes deferrable (still checked at the end of each statement unless a
transaction defers it): the span writer defers it, COPYs the hook rows first, writes the trace rows
last, and the key is checked at commit. The check itself is unchanged and so is every other writer.

The session triggers also skip the refresh when their transition table is empty: an
``INSERT ... ON CONFLICT DO UPDATE`` fires the update triggers even when it updated nothing, and a
refresh of no session still planned the whole refresh query.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-02
"""

from alembic import op

from traceability.exporter.migrations.sql import run_script

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def _on_rows(name: str, rows: str, *, skip_empty: bool) -> str:
    """The trigger function refreshing the sessions of the rows in transition table ``rows``."""
    refresh = f"PERFORM traceability_refresh_sessions(ARRAY(SELECT DISTINCT session_id FROM {rows}));"
    if skip_empty:
        refresh = f"IF EXISTS (SELECT 1 FROM {rows}) THEN\n        {refresh}\n    END IF;"
    return (
        f"CREATE OR REPLACE FUNCTION traceability_sessions_on_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n    {refresh}\n    RETURN NULL;\nEND\n$$"
    )


_FK = "ALTER TABLE hook_executions ALTER CONSTRAINT hook_executions_trace_id_fkey"


def upgrade() -> None:
    run_script(f"{_FK} DEFERRABLE INITIALLY IMMEDIATE")
    op.execute(_on_rows("new", "new_rows", skip_empty=True))
    op.execute(_on_rows("old", "old_rows", skip_empty=True))


def downgrade() -> None:
    op.execute(_on_rows("new", "new_rows", skip_empty=False))
    op.execute(_on_rows("old", "old_rows", skip_empty=False))
    run_script(f"{_FK} NOT DEFERRABLE")
