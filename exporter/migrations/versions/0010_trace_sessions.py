"""trace_sessions: one row per Claude Code session, kept by triggers, for a fast newest-first list.

A session is every ``execution_traces`` row with its ``session_id``. Listing sessions newest first
by aggregating all turns costs a scan of every turn (0.4 s with 20k turns); this table holds each
session's first/last activity, turn counts, project (the last component of the newest turn's
``cwd``) and model, so the web UI's list is an index scan. Statement-level triggers on
``execution_traces`` (insert, update, delete; COPY and upserts included) recompute the touched
sessions from their rows, after a transaction-scoped advisory lock per session, so concurrent
writers of one session serialize and the later one sees what the earlier committed.

Revision ID: 0010
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op

from traceability.exporter.migrations.sql import run_script

revision = "0010"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = r"""
CREATE TABLE trace_sessions (
    session_id UUID PRIMARY KEY,
    first_started TIMESTAMPTZ NOT NULL,
    last_started TIMESTAMPTZ NOT NULL,
    last_completed TIMESTAMPTZ NOT NULL,
    turns INTEGER NOT NULL,
    failed_turns INTEGER NOT NULL,
    project TEXT,
    cwd TEXT,
    model TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_trace_sessions_last_started ON trace_sessions(last_started DESC, session_id);
CREATE INDEX idx_trace_sessions_project ON trace_sessions(project, last_started DESC);
CREATE INDEX idx_pattern_executions_trace ON pattern_executions(trace_id);
CREATE INDEX idx_pattern_executions_hook ON pattern_executions(hook_execution_id)
"""

REFRESH = r"""
CREATE FUNCTION traceability_refresh_sessions(ids uuid[]) RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('trace_sessions:' || id::text, 0))
    FROM (SELECT DISTINCT id FROM unnest(ids) AS id WHERE id IS NOT NULL ORDER BY id) locks;
    DELETE FROM trace_sessions s
    WHERE s.session_id = ANY(ids)
      AND NOT EXISTS (SELECT 1 FROM execution_traces t WHERE t.session_id = s.session_id);
    INSERT INTO trace_sessions AS s (session_id, first_started, last_started, last_completed, turns,
                                     failed_turns, project, cwd, model, updated_at)
    SELECT t.session_id, min(t.started_at), max(t.started_at), max(coalesce(t.completed_at, t.started_at)),
           count(*) FILTER (WHERE t.span_name = 'claude_code.turn'),
           count(*) FILTER (WHERE t.span_name = 'claude_code.turn'
                            AND (t.status IN ('failed', 'abandoned') OR t.success = false)),
           (array_agg(regexp_replace(t.context->>'cwd', '^.*/', '') ORDER BY t.started_at DESC)
              FILTER (WHERE t.context ? 'cwd'))[1],
           (array_agg(t.context->>'cwd' ORDER BY t.started_at DESC) FILTER (WHERE t.context ? 'cwd'))[1],
           (array_agg(t.context->>'model' ORDER BY t.started_at DESC) FILTER (WHERE t.context ? 'model'))[1],
           now()
    FROM execution_traces t WHERE t.session_id = ANY(ids)
    GROUP BY t.session_id
    ON CONFLICT (session_id) DO UPDATE SET
        first_started = EXCLUDED.first_started, last_started = EXCLUDED.last_started,
        last_completed = EXCLUDED.last_completed, turns = EXCLUDED.turns,
        failed_turns = EXCLUDED.failed_turns, project = EXCLUDED.project, cwd = EXCLUDED.cwd,
        model = EXCLUDED.model, updated_at = EXCLUDED.updated_at;
$$
"""

ON_NEW = r"""
CREATE FUNCTION traceability_sessions_on_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_refresh_sessions(ARRAY(SELECT DISTINCT session_id FROM new_rows));
    RETURN NULL;
END
$$
"""

ON_OLD = r"""
CREATE FUNCTION traceability_sessions_on_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_refresh_sessions(ARRAY(SELECT DISTINCT session_id FROM old_rows));
    RETURN NULL;
END
$$
"""

TRIGGERS = r"""
CREATE TRIGGER execution_traces_sessions_insert AFTER INSERT ON execution_traces
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION traceability_sessions_on_new();
CREATE TRIGGER execution_traces_sessions_update AFTER UPDATE ON execution_traces
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION traceability_sessions_on_new();
CREATE TRIGGER execution_traces_sessions_update_old AFTER UPDATE ON execution_traces
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION traceability_sessions_on_old();
CREATE TRIGGER execution_traces_sessions_delete AFTER DELETE ON execution_traces
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION traceability_sessions_on_old();
SELECT traceability_refresh_sessions(ARRAY(SELECT DISTINCT session_id FROM execution_traces))
"""


def upgrade() -> None:
    run_script(TABLE)
    op.execute(REFRESH)
    op.execute(ON_NEW)
    op.execute(ON_OLD)
    run_script(TRIGGERS)


def downgrade() -> None:
    run_script(
        """
        DROP TRIGGER IF EXISTS execution_traces_sessions_delete ON execution_traces;
        DROP TRIGGER IF EXISTS execution_traces_sessions_update_old ON execution_traces;
        DROP TRIGGER IF EXISTS execution_traces_sessions_update ON execution_traces;
        DROP TRIGGER IF EXISTS execution_traces_sessions_insert ON execution_traces;
        DROP FUNCTION IF EXISTS traceability_sessions_on_old();
        DROP FUNCTION IF EXISTS traceability_sessions_on_new();
        DROP FUNCTION IF EXISTS traceability_refresh_sessions(uuid[]);
        DROP INDEX IF EXISTS idx_pattern_executions_hook;
        DROP INDEX IF EXISTS idx_pattern_executions_trace;
        DROP TABLE IF EXISTS trace_sessions
        """
    )
