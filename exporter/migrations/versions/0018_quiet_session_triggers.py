"""The native-span session triggers do nothing when their statement added or removed no interaction.

The statement-level triggers on ``claude_code_spans`` (0014) fire for every statement, also for a
batch of native spans without a ``claude_code.interaction`` (most batches: the interaction is one
span of many). Each called ``traceability_refresh_sessions`` with an empty set of sessions, which
plans and runs the whole refresh anyway (~1 ms a statement). They now return at once when the
transition table holds no interaction of a UUID session; what they refresh otherwise is unchanged.
(0017 did the same for the ``execution_traces`` triggers.)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The UUID session ids of the interaction spans in a transition table (as 0014).
_SESSIONS_OF = r"""ARRAY(SELECT DISTINCT session_id::uuid FROM {rows}
                           WHERE span_type = 'interaction'
                             AND session_id ~* '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$')"""

_GUARDED = r"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    ids := {sessions};
    IF cardinality(ids) > 0 THEN
        PERFORM traceability_refresh_sessions(ids);
    END IF;
    RETURN NULL;
END
$$
"""

# 0014's
_UNGUARDED = r"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_refresh_sessions({sessions});
    RETURN NULL;
END
$$
"""

_FUNCTIONS = (
    ("traceability_sessions_on_native_new", _SESSIONS_OF.format(rows="new_rows")),
    ("traceability_sessions_on_native_old", _SESSIONS_OF.format(rows="old_rows")),
)


def upgrade() -> None:
    for name, sessions in _FUNCTIONS:
        op.execute(_GUARDED.format(name=name, sessions=sessions))


def downgrade() -> None:
    for name, sessions in _FUNCTIONS:
        op.execute(_UNGUARDED.format(name=name, sessions=sessions))
