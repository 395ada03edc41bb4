"""A span batch holds its session's lock for less time: hook rows first, the trace rows last.

Inserting or updating ``execution_traces`` rows refreshes their sessions (0010's statement-level
triggers), which takes a transaction-scoped advisory lock per session: every batch of one session
waits for the one before it to commit. A batch used to write its trace rows first (the hook
rows' foreign key needs them) and then COPY its hook rows with that lock held, so batches of one
session were written one at a time. The foreign key from ``hook_executions`` to
``execution_traces`` becomes deferrable (still checked at the end of each statement unless a
transaction defers it): the span writer defers it, COPYs the hook rows first, writes the trace rows
last, and the key is checked at commit. The check itself is unchanged and so is every other writer.

The session triggers also skip the refresh when their transition table is empty (an
``INSERT ... ON CONFLICT DO UPDATE`` fires the update triggers even when it updated nothing, and a
refresh of no session still planned the whole refresh query), and rows that are only inserted
update their sessions' rows from the new rows alone: the earliest/latest times are the least and
greatest of the old and the new, the turn counts add up, and the project, cwd and model are the
newest new row's when it is newer than every row of the session. Each batch used to recompute its
session from all its turns (6 ms per batch at 2,000 turns, growing with the session). Whatever the
new rows cannot decide alone (a session without a row yet, rows that record a native trace, a
context not newer than the session's last turn, an update, a delete) is refreshed as before.

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
DECLARE
    rest uuid[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM traceability_refresh_sessions(ARRAY(SELECT DISTINCT session_id FROM new_rows));
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('trace_sessions:' || id::text, 0))
    FROM (SELECT DISTINCT session_id AS id FROM new_rows ORDER BY 1) AS locks;
    WITH fresh AS (
        SELECT n.session_id, min(n.started_at) AS first_started, max(n.started_at) AS last_started,
               max(coalesce(n.completed_at, n.started_at)) AS last_completed,
               count(*) FILTER (WHERE n.span_name = 'claude_code.turn') AS turns,
               count(*) FILTER (WHERE n.span_name = 'claude_code.turn'
                                AND (n.status IN ('failed', 'abandoned') OR n.success = false)) AS failed_turns,
               max(n.started_at) FILTER (WHERE n.context ? 'cwd') AS cwd_started,
               (array_agg(regexp_replace(n.context->>'cwd', '^.*/', '') ORDER BY n.started_at DESC)
                  FILTER (WHERE n.context ? 'cwd'))[1] AS project,
               (array_agg(n.context->>'cwd' ORDER BY n.started_at DESC) FILTER (WHERE n.context ? 'cwd'))[1] AS cwd,
               max(n.started_at) FILTER (WHERE n.context ? 'model') AS model_started,
               (array_agg(n.context->>'model' ORDER BY n.started_at DESC)
                  FILTER (WHERE n.context ? 'model'))[1] AS model,
               bool_and(n.native_trace_id IS NULL) AS plain
        FROM new_rows n GROUP BY n.session_id
    ), added AS (
        UPDATE trace_sessions s SET
            first_started = least(s.first_started, f.first_started),
            last_started = greatest(s.last_started, f.last_started),
            last_completed = greatest(s.last_completed, f.last_completed),
            turns = s.turns + f.turns,
            failed_turns = s.failed_turns + f.failed_turns,
            project = CASE WHEN f.cwd_started IS NULL THEN s.project ELSE f.project END,
            cwd = CASE WHEN f.cwd_started IS NULL THEN s.cwd ELSE f.cwd END,
            model = CASE WHEN f.model_started IS NULL THEN s.model ELSE f.model END,
            updated_at = now()
        FROM fresh f
        WHERE s.session_id = f.session_id AND f.plain
          AND (f.cwd_started IS NULL OR f.cwd_started > s.last_started)
          AND (f.model_started IS NULL OR f.model_started > s.last_started)
        RETURNING s.session_id
    )
    SELECT array_agg(f.session_id) INTO rest FROM fresh f WHERE f.session_id NOT IN (SELECT session_id FROM added);
    IF rest IS NOT NULL THEN
        PERFORM traceability_refresh_sessions(rest);
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
