"""The session-refresh triggers do nothing when their statement changed no session.

The statement-level triggers on ``execution_traces`` (0010) and ``claude_code_spans`` (0014) fire
for every statement, also for one that touched no row or no session: every native-trace join
(an ``UPDATE execution_traces`` that, most of the time, has no hook turn to update) and every batch
of native spans without an interaction. Each called ``traceability_refresh_sessions`` with an
empty set of sessions, which plans and runs its statements anyway (~1 ms a trigger, two per
``UPDATE``: most of a log batch's join). They now return at once when the transition table holds
no session to refresh; what they refresh otherwise is unchanged (NULL ids were never refreshed).

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-02
"""

from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None

# The UUID session ids of the interaction spans in a transition table (as 0014).
_NATIVE_SESSIONS_OF = r"""ARRAY(SELECT DISTINCT session_id::uuid FROM {rows}
                           WHERE span_type = 'interaction'
                             AND session_id ~* '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$')"""
_SESSIONS_OF = "ARRAY(SELECT DISTINCT session_id FROM {rows})"

_GUARDED = r"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    ids := ARRAY(SELECT id FROM unnest({sessions}) AS id WHERE id IS NOT NULL);
    IF cardinality(ids) > 0 THEN
        PERFORM traceability_refresh_sessions(ids);
    END IF;
    RETURN NULL;
END
$$
"""

_UNGUARDED = r"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_refresh_sessions({sessions});
    RETURN NULL;
END
$$
"""

_FUNCTIONS = (
    ("traceability_sessions_on_new", _SESSIONS_OF.format(rows="new_rows")),
    ("traceability_sessions_on_old", _SESSIONS_OF.format(rows="old_rows")),
    ("traceability_sessions_on_native_new", _NATIVE_SESSIONS_OF.format(rows="new_rows")),
    ("traceability_sessions_on_native_old", _NATIVE_SESSIONS_OF.format(rows="old_rows")),
)


def upgrade() -> None:
    for name, sessions in _FUNCTIONS:
        op.execute(_GUARDED.format(name=name, sessions=sessions))


def downgrade() -> None:
    for name, sessions in _FUNCTIONS:
        op.execute(_UNGUARDED.format(name=name, sessions=sessions))
