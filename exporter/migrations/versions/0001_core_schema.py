"""Core schema: the project's six tables (traces, hook executions, and pattern lineage nodes, edges,
events and executions), with what spans and derivation need.

The first specification's columns are never renamed or dropped (the span contract, docs/span-contract.md,
lists what each holds). Additions are marked "(added)" and exist for OTel ids, span status, raw
attributes, idempotent ingest and pattern executions.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from traceability.exporter.migrations.sql import run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- One row per prompt turn (root span). id == correlation_id == the OTel trace id as a UUID.
CREATE TABLE execution_traces (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    correlation_id UUID NOT NULL UNIQUE,
    root_id UUID NOT NULL,
    parent_id UUID,
    session_id UUID NOT NULL,
    user_id TEXT,
    source TEXT NOT NULL,
    prompt_text TEXT,
    started_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    completed_at TIMESTAMPTZ,
    duration_ms INTEGER,
    status TEXT NOT NULL DEFAULT 'in_progress',
    success BOOLEAN,
    error_message TEXT,
    error_type TEXT,
    context JSONB,
    tags TEXT[],
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- (added) OTel identity and raw span data
    otel_trace_id TEXT GENERATED ALWAYS AS (replace(correlation_id::text, '-', '')) STORED,
    root_span_id TEXT,
    session_key TEXT,            -- the session id as sent, when it is not a UUID
    prompt_id TEXT,
    service_name TEXT,
    span_name TEXT,
    status_code TEXT,            -- OTel status: UNSET | OK | ERROR
    status_message TEXT,
    attributes JSONB,
    resource JSONB,
    root_received BOOLEAN NOT NULL DEFAULT FALSE  -- FALSE while only children have arrived
);

-- One row per non-root span of a trace: hook executions, tool uses, subagent runs.
CREATE TABLE hook_executions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    trace_id UUID NOT NULL REFERENCES execution_traces(id) ON DELETE CASCADE,
    hook_type TEXT NOT NULL,
    hook_name TEXT NOT NULL,
    execution_order INTEGER NOT NULL,
    tool_name TEXT,
    file_path TEXT,
    started_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    completed_at TIMESTAMPTZ,
    duration_ms INTEGER,
    status TEXT NOT NULL DEFAULT 'in_progress',
    input_data JSONB,
    output_data JSONB,
    modifications_made JSONB,
    rag_query_performed BOOLEAN DEFAULT FALSE,
    rag_results JSONB,
    quality_check_performed BOOLEAN DEFAULT FALSE,
    quality_results JSONB,
    error_message TEXT,
    error_type TEXT,
    error_stack TEXT,
    metadata JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- (added) OTel identity, correlation keys and raw span data
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    span_name TEXT NOT NULL,
    span_kind TEXT,
    span_type TEXT,              -- hook | tool | subagent | session | other
    status_code TEXT,
    status_message TEXT,
    session_id TEXT,             -- copied from the span so analytics need no join
    prompt_id TEXT,
    tool_use_id TEXT,
    agent_id TEXT,
    tool_duration_ms DOUBLE PRECISION,  -- Claude Code's own duration_ms for the tool, when sent
    quality_score DOUBLE PRECISION,
    success BOOLEAN,
    service_name TEXT,
    attributes JSONB,
    events JSONB,
    resource JSONB
);

CREATE INDEX idx_execution_traces_correlation ON execution_traces(correlation_id);
CREATE INDEX idx_execution_traces_session ON execution_traces(session_id);
CREATE INDEX idx_execution_traces_started ON execution_traces(started_at);
CREATE INDEX idx_execution_traces_status ON execution_traces(status);
CREATE INDEX idx_hook_executions_trace ON hook_executions(trace_id);
CREATE INDEX idx_hook_executions_order ON hook_executions(trace_id, execution_order);
CREATE INDEX idx_hook_executions_started ON hook_executions(started_at);
CREATE INDEX idx_hook_executions_tool_use ON hook_executions(tool_use_id) WHERE tool_use_id IS NOT NULL;
CREATE INDEX idx_hook_executions_session ON hook_executions(session_id);
-- the deriver's scan of code-writing tool uses, in ingest order
CREATE INDEX idx_hook_executions_created ON hook_executions(created_at, id);

-- Pattern versions. (pattern_id, pattern_version) identifies one version.
CREATE TABLE pattern_lineage_nodes (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    pattern_id TEXT NOT NULL,
    pattern_name TEXT NOT NULL,
    pattern_type TEXT NOT NULL,
    pattern_version TEXT NOT NULL,
    pattern_data JSONB,
    generation INTEGER NOT NULL DEFAULT 0,
    metadata JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- (added) what the lineage API's answers carry about a version and an event
    lineage_id UUID,
    source_system TEXT,
    source_user TEXT,
    source_event_id TEXT,
    correlation_id UUID,
    event_type TEXT,
    tool_name TEXT,
    file_path TEXT,
    language TEXT,
    -- (added) derivation and feedback
    code_hash TEXT,
    qualified_name TEXT,
    status TEXT NOT NULL DEFAULT 'active',   -- active | deprecated | promoted
    UNIQUE (pattern_id, pattern_version)
);

CREATE TABLE pattern_lineage_edges (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    source_node_id UUID NOT NULL REFERENCES pattern_lineage_nodes(id) ON DELETE CASCADE,
    target_node_id UUID NOT NULL REFERENCES pattern_lineage_nodes(id) ON DELETE CASCADE,
    edge_type TEXT NOT NULL,
    transformation_type TEXT,
    edge_weight NUMERIC(5,4) DEFAULT 1.0 CHECK (edge_weight >= 0 AND edge_weight <= 1),
    metadata JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- (added)
    correlation_id UUID,
    created_by TEXT,
    CHECK (source_node_id <> target_node_id),
    UNIQUE (source_node_id, target_node_id, edge_type)
);

CREATE TABLE pattern_lineage_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    node_id UUID NOT NULL REFERENCES pattern_lineage_nodes(id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    event_data JSONB,
    triggered_by TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- (added) what the lineage API's answers carry about a version and an event
    event_subtype TEXT,
    pattern_id TEXT,
    parent_pattern_ids TEXT[],
    parent_node_ids UUID[],
    metadata JSONB,
    reason TEXT,
    correlation_id UUID,
    duration_ms DOUBLE PRECISION,
    success BOOLEAN DEFAULT TRUE,
    dedupe_key TEXT UNIQUE      -- deterministic key for events the deriver writes (idempotence)
);

CREATE TABLE pattern_ancestry_cache (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    pattern_node_id UUID NOT NULL UNIQUE REFERENCES pattern_lineage_nodes(id) ON DELETE CASCADE,
    ancestor_ids UUID[] NOT NULL DEFAULT '{}',
    ancestor_pattern_ids TEXT[] NOT NULL DEFAULT '{}',
    ancestry_depth INTEGER NOT NULL DEFAULT 0,
    total_ancestors INTEGER NOT NULL DEFAULT 0,
    lineage_path JSONB,
    computed_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    is_stale BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX idx_pattern_nodes_pattern_id ON pattern_lineage_nodes(pattern_id);
CREATE INDEX idx_pattern_nodes_created ON pattern_lineage_nodes(pattern_id, created_at DESC);
CREATE INDEX idx_pattern_nodes_lineage ON pattern_lineage_nodes(lineage_id);
CREATE INDEX idx_pattern_nodes_file ON pattern_lineage_nodes(file_path);
CREATE INDEX idx_pattern_nodes_hash ON pattern_lineage_nodes(code_hash);
CREATE INDEX idx_pattern_nodes_data ON pattern_lineage_nodes USING GIN (pattern_data);
CREATE INDEX idx_pattern_edges_source ON pattern_lineage_edges(source_node_id);
CREATE INDEX idx_pattern_edges_target ON pattern_lineage_edges(target_node_id);
-- index-only ancestry/descendant walks
CREATE INDEX idx_pattern_edges_target_cover ON pattern_lineage_edges(target_node_id)
    INCLUDE (source_node_id, edge_type);
CREATE INDEX idx_pattern_edges_source_cover ON pattern_lineage_edges(source_node_id)
    INCLUDE (target_node_id, edge_type);
CREATE INDEX idx_pattern_events_node ON pattern_lineage_events(node_id, created_at);
CREATE INDEX idx_pattern_events_pattern ON pattern_lineage_events(pattern_id, created_at);

-- (added) One row per (tool use that wrote code, pattern version it wrote or tried to write):
-- a pattern's executions, which analytics and the feedback loop count.
CREATE TABLE pattern_executions (
    id UUID PRIMARY KEY,
    node_id UUID NOT NULL REFERENCES pattern_lineage_nodes(id) ON DELETE CASCADE,
    pattern_id TEXT NOT NULL,
    tool_use_id TEXT NOT NULL,
    trace_id UUID,
    hook_execution_id UUID,
    session_id TEXT,
    user_id TEXT,
    tool_name TEXT,
    file_path TEXT,
    executed_at TIMESTAMPTZ NOT NULL,
    duration_ms DOUBLE PRECISION,
    success BOOLEAN NOT NULL,
    blocked BOOLEAN NOT NULL DEFAULT FALSE,
    quality_score DOUBLE PRECISION,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (node_id, tool_use_id)
);
CREATE INDEX idx_pattern_executions_pattern ON pattern_executions(pattern_id, executed_at);
CREATE INDEX idx_pattern_executions_node ON pattern_executions(node_id, executed_at);

-- (added) Pattern derivation state. Where each pattern currently lives: one row per
-- (file, qualified name) "slot", pointing at the version last written there.
CREATE TABLE pattern_locations (
    file_path TEXT NOT NULL,
    qualified_name TEXT NOT NULL,
    pattern_id TEXT NOT NULL,
    node_id UUID NOT NULL REFERENCES pattern_lineage_nodes(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    language TEXT,
    tool_use_id TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (file_path, qualified_name)
);
CREATE INDEX idx_pattern_locations_pattern ON pattern_locations(pattern_id);

-- (added) MinHash signature of each derived version, so the similarity (LSH) index is rebuilt
-- without re-tokenizing code.
CREATE TABLE pattern_signatures (
    node_id UUID PRIMARY KEY REFERENCES pattern_lineage_nodes(id) ON DELETE CASCADE,
    file_path TEXT,
    minhash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- (added) Tool uses the deriver has handled (idempotence independent of the checkpoint).
CREATE TABLE pattern_derived_executions (
    hook_execution_id UUID PRIMARY KEY,
    units INTEGER NOT NULL,
    derived_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    error TEXT                   -- why the span could not be derived (it is skipped, not retried)
);

-- (added) Resumable background jobs (the deriver) keep their position here.
CREATE TABLE traceability_checkpoints (
    name TEXT PRIMARY KEY,
    position JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS traceability_checkpoints;
DROP TABLE IF EXISTS pattern_derived_executions;
DROP TABLE IF EXISTS pattern_signatures;
DROP TABLE IF EXISTS pattern_locations;
DROP TABLE IF EXISTS pattern_executions;
DROP TABLE IF EXISTS pattern_ancestry_cache;
DROP TABLE IF EXISTS pattern_lineage_events;
DROP TABLE IF EXISTS pattern_lineage_edges;
DROP TABLE IF EXISTS pattern_lineage_nodes;
DROP TABLE IF EXISTS hook_executions;
DROP TABLE IF EXISTS execution_traces;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
