"""Indexes for the web UI's session list: each listed session's tool counts and its branch.

The list reads, per session on the page, the count of its tool spans by status and the branch of
its newest hook span that recorded one. Both were index scans on ``session_id`` that fetched every
span of the session from the heap and filtered it (~0.1 ms a session, most of the page's time).
A partial index of the tool spans (with their status) answers the counts from the index alone, and
a partial index of the hook spans carrying a branch, newest first, answers the branch with one row.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from traceability.exporter.migrations.sql import run_script

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE INDEX idx_hook_executions_session_tools ON hook_executions (session_id, status) WHERE span_type = 'tool';
CREATE INDEX idx_hook_executions_session_branch ON hook_executions (session_id, started_at DESC)
    WHERE span_type = 'hook' AND attributes ? 'vcs.ref.head.name'
"""

DOWNGRADE = r"""
DROP INDEX IF EXISTS idx_hook_executions_session_branch;
DROP INDEX IF EXISTS idx_hook_executions_session_tools
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
