"""trace_sessions also holds sessions known only from Claude Code's own telemetry (hooks not installed).

A native ``claude_code.interaction`` whose hook turn never arrived (no ``execution_traces`` row
records its trace id) is a turn of its session (``claude_code_spans.session_id``). The refresh
counts such interactions beside the hook turns, and statement-level triggers on
``claude_code_spans`` refresh the sessions of the interactions they insert or delete; when a hook
turn later records the native trace id, the existing ``execution_traces`` triggers refresh the
session and the interaction stops counting twice. Only UUID session ids are listed this way (what
Claude Code sends; ``trace_sessions`` is keyed by UUID).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from alembic import op

from traceability.exporter.migrations.sql import run_script

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The hook turns and the native-only interactions (no hook turn records their trace id) of sessions ``ids``.
REFRESH = r"""
CREATE OR REPLACE FUNCTION traceability_refresh_sessions(ids uuid[]) RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('trace_sessions:' || id::text, 0))
    FROM (SELECT DISTINCT id FROM unnest(ids) AS id WHERE id IS NOT NULL ORDER BY id) locks;
    WITH parts AS (
        SELECT t.session_id, t.started_at, t.completed_at, t.span_name, t.status, t.success, t.context
        FROM execution_traces t WHERE t.session_id = ANY(ids)
        UNION ALL
        SELECT sp.session_id::uuid AS session_id, sp.started_at, sp.completed_at, 'claude_code.turn' AS span_name,
               CASE WHEN sp.status_code = 'ERROR' THEN 'failed' ELSE 'completed' END AS status,
               sp.status_code IS DISTINCT FROM 'ERROR' AS success, NULL::jsonb AS context
        FROM claude_code_spans sp
        WHERE sp.span_type = 'interaction'
          AND sp.session_id = ANY(ARRAY(SELECT id::text FROM unnest(ids) AS id WHERE id IS NOT NULL))
          AND NOT EXISTS (SELECT 1 FROM execution_traces t WHERE t.native_trace_id = sp.trace_id)
    )
    , fresh AS (
        SELECT t.session_id, min(t.started_at) AS first_started, max(t.started_at) AS last_started,
               max(coalesce(t.completed_at, t.started_at)) AS last_completed,
               count(*) FILTER (WHERE t.span_name = 'claude_code.turn') AS turns,
               count(*) FILTER (WHERE t.span_name = 'claude_code.turn'
                                AND (t.status IN ('failed', 'abandoned') OR t.success = false)) AS failed_turns,
               (array_agg(regexp_replace(t.context->>'cwd', '^.*/', '') ORDER BY t.started_at DESC)
                  FILTER (WHERE t.context ? 'cwd'))[1] AS project,
               (array_agg(t.context->>'cwd' ORDER BY t.started_at DESC) FILTER (WHERE t.context ? 'cwd'))[1] AS cwd,
               (array_agg(t.context->>'model' ORDER BY t.started_at DESC)
                  FILTER (WHERE t.context ? 'model'))[1] AS model
        FROM parts t GROUP BY t.session_id
    ), gone AS (
        DELETE FROM trace_sessions s
        WHERE s.session_id = ANY(ids) AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.session_id = s.session_id)
    )
    INSERT INTO trace_sessions AS s (session_id, first_started, last_started, last_completed, turns,
                                     failed_turns, project, cwd, model, updated_at)
    SELECT session_id, first_started, last_started, last_completed, turns, failed_turns, project, cwd, model, now()
    FROM fresh
    ON CONFLICT (session_id) DO UPDATE SET
        first_started = EXCLUDED.first_started, last_started = EXCLUDED.last_started,
        last_completed = EXCLUDED.last_completed, turns = EXCLUDED.turns,
        failed_turns = EXCLUDED.failed_turns, project = EXCLUDED.project, cwd = EXCLUDED.cwd,
        model = EXCLUDED.model, updated_at = EXCLUDED.updated_at;
$$
"""

# The UUID session ids of the interaction spans in a transition table.
_SESSIONS_OF = r"""ARRAY(SELECT DISTINCT session_id::uuid FROM {rows}
                           WHERE span_type = 'interaction'
                             AND session_id ~* '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$')"""

ON_NATIVE_NEW = rf"""
CREATE FUNCTION traceability_sessions_on_native_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_refresh_sessions({_SESSIONS_OF.format(rows="new_rows")});
    RETURN NULL;
END
$$
"""

ON_NATIVE_OLD = rf"""
CREATE FUNCTION traceability_sessions_on_native_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_refresh_sessions({_SESSIONS_OF.format(rows="old_rows")});
    RETURN NULL;
END
$$
"""

TRIGGERS = r"""
CREATE TRIGGER claude_code_spans_sessions_insert AFTER INSERT ON claude_code_spans
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION traceability_sessions_on_native_new();
CREATE TRIGGER claude_code_spans_sessions_delete AFTER DELETE ON claude_code_spans
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION traceability_sessions_on_native_old();
SELECT traceability_refresh_sessions(ARRAY(
    SELECT DISTINCT session_id::uuid FROM claude_code_spans
    WHERE span_type = 'interaction'
      AND session_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'))
"""

# 0010's refresh, from execution_traces alone
REFRESH_0010 = r"""
CREATE OR REPLACE FUNCTION traceability_refresh_sessions(ids uuid[]) RETURNS void LANGUAGE sql VOLATILE AS $$
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


def upgrade() -> None:
    op.execute(REFRESH)
    op.execute(ON_NATIVE_NEW)
    op.execute(ON_NATIVE_OLD)
    run_script(TRIGGERS)


def downgrade() -> None:
    run_script(
        """
        DROP TRIGGER IF EXISTS claude_code_spans_sessions_delete ON claude_code_spans;
        DROP TRIGGER IF EXISTS claude_code_spans_sessions_insert ON claude_code_spans;
        DROP FUNCTION IF EXISTS traceability_sessions_on_native_old();
        DROP FUNCTION IF EXISTS traceability_sessions_on_native_new()
        """
    )
    op.execute(REFRESH_0010)
    run_script(
        """
        DELETE FROM trace_sessions s WHERE NOT EXISTS (SELECT 1 FROM execution_traces t WHERE t.session_id = s.session_id)
        """
    )
