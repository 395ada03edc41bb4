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


ON_NEW = r"""
CREATE OR REPLACE FUNCTION traceability_sessions_on_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows) THEN
        PERFORM traceability_refresh_sessions(ARRAY(SELECT DISTINCT session_id FROM new_rows));
    END IF;
    RETURN NULL;
END
$$
"""

ON_OLD = r"""
CREATE OR REPLACE FUNCTION traceability_sessions_on_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows) THEN
        PERFORM traceability_refresh_sessions(ARRAY(SELECT DISTINCT session_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$
"""

# 0010's trigger functions
ON_NEW_0010 = r"""
CREATE OR REPLACE FUNCTION traceability_sessions_on_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_refresh_sessions(ARRAY(SELECT DISTINCT session_id FROM new_rows));
    RETURN NULL;
END
$$
"""

ON_OLD_0010 = r"""
CREATE OR REPLACE FUNCTION traceability_sessions_on_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_refresh_sessions(ARRAY(SELECT DISTINCT session_id FROM old_rows));
    RETURN NULL;
END
$$
"""

_FK = "ALTER TABLE hook_executions ALTER CONSTRAINT hook_executions_trace_id_fkey"


def upgrade() -> None:
    run_script(f"{_FK} DEFERRABLE INITIALLY IMMEDIATE")
    op.execute(ON_NEW)
    op.execute(ON_OLD)


def downgrade() -> None:
    op.execute(ON_NEW_0010)
    op.execute(ON_OLD_0010)
    run_script(f"{_FK} NOT DEFERRABLE")
