"""Span links are stored: a ``links`` jsonb column on ``hook_executions`` and ``execution_traces``.

Each element is ``{"trace_id", "span_id", "attributes"}`` (ids as lowercase hex), in the span's
order; NULL when the span has no links. Adding a nullable column without a default does not
rewrite the tables.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from traceability.exporter.migrations.sql import run_script

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE hook_executions ADD COLUMN links jsonb;
ALTER TABLE execution_traces ADD COLUMN links jsonb
"""

DOWNGRADE = r"""
ALTER TABLE hook_executions DROP COLUMN links;
ALTER TABLE execution_traces DROP COLUMN links
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
