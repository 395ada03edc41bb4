"""Claude Code's own telemetry: log events, metric points, native spans, and the link to the hook turn.

Claude Code exports (``CLAUDE_CODE_ENABLE_TELEMETRY=1``) its spans under a random trace id that
carries ``session.id`` but no prompt id; its log events carry both the prompt id and that trace id.
``claude_code_trace_links`` keeps what the events say (native trace -> prompt); the hook turn of
that prompt records the native trace id in ``execution_traces.native_trace_id``. Native spans live
in ``claude_code_spans`` (with their own ids), never in ``execution_traces`` / ``hook_executions``,
so a native interaction is never counted as a second turn.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from traceability.exporter.migrations.sql import run_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE execution_traces ADD COLUMN native_trace_id UUID;
CREATE INDEX idx_execution_traces_native ON execution_traces(native_trace_id) WHERE native_trace_id IS NOT NULL;
CREATE INDEX idx_execution_traces_prompt ON execution_traces(prompt_id) WHERE prompt_id IS NOT NULL;
CREATE INDEX idx_execution_traces_session_started ON execution_traces(session_id, started_at);

-- One row per Claude Code log event (body claude_code.<name>, attribute event.name).
CREATE TABLE claude_code_events (
    id UUID PRIMARY KEY,             -- uuid5 of session, sequence, time, name, trace and span ids
    event_name TEXT NOT NULL,        -- user_prompt | api_request | api_error | tool_decision | ...
    event_time TIMESTAMPTZ NOT NULL,
    observed_at TIMESTAMPTZ,
    session_id TEXT,
    prompt_id TEXT,
    native_trace_id UUID,            -- the native span the event happened in (log record traceId)
    native_span_id TEXT,
    tool_use_id TEXT,
    tool_name TEXT,
    -- api_request / api_error
    model TEXT,
    input_tokens BIGINT,
    output_tokens BIGINT,
    cache_read_tokens BIGINT,
    cache_creation_tokens BIGINT,
    cost_usd DOUBLE PRECISION,
    duration_ms DOUBLE PRECISION,    -- api_request, api_error, tool_result: Claude Code's duration_ms
    ttft_ms DOUBLE PRECISION,
    request_id TEXT,
    error TEXT,
    status_code TEXT,
    success BOOLEAN,                 -- tool_result
    -- tool_decision
    decision TEXT,
    decision_source TEXT,
    -- hook_execution_start / hook_execution_complete
    hook_event TEXT,
    hook_name TEXT,
    hook_total_duration_ms DOUBLE PRECISION,
    num_hooks BIGINT,
    prompt_text TEXT,                -- user_prompt, only when sent and prompt capture is on (redacted)
    severity_text TEXT,
    body TEXT,
    attributes JSONB,                -- every other attribute
    resource JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_cc_events_prompt ON claude_code_events(prompt_id, event_time) WHERE prompt_id IS NOT NULL;
CREATE INDEX idx_cc_events_session ON claude_code_events(session_id, event_time);
CREATE INDEX idx_cc_events_trace ON claude_code_events(native_trace_id) WHERE native_trace_id IS NOT NULL;
CREATE INDEX idx_cc_events_tool_use ON claude_code_events(tool_use_id) WHERE tool_use_id IS NOT NULL;

-- One row per metric data point, as sent (deltas and cumulatives are not converted).
CREATE TABLE claude_code_metric_points (
    id UUID PRIMARY KEY,             -- uuid5 of name, kind, attributes, resource, start and time
    metric_name TEXT NOT NULL,
    unit TEXT,
    kind TEXT NOT NULL,              -- sum | gauge | histogram
    temporality TEXT NOT NULL,       -- DELTA | CUMULATIVE | UNSPECIFIED (gauges)
    is_monotonic BOOLEAN NOT NULL,
    start_time TIMESTAMPTZ,
    point_time TIMESTAMPTZ NOT NULL,
    value DOUBLE PRECISION NOT NULL, -- histograms: the sum
    count BIGINT,                    -- histograms only
    buckets JSONB,                   -- histograms only: [[upper bound or null for +inf, count], ...]
    session_id TEXT,
    attributes JSONB,
    resource JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_cc_metrics_name ON claude_code_metric_points(metric_name, point_time);
CREATE INDEX idx_cc_metrics_session ON claude_code_metric_points(session_id, metric_name);

-- Claude Code's own spans (claude_code.interaction and below), with their own ids.
CREATE TABLE claude_code_spans (
    id UUID PRIMARY KEY,             -- uuid5 of trace and span id
    trace_id UUID NOT NULL,          -- the native trace id
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    name TEXT NOT NULL,
    span_type TEXT NOT NULL,         -- interaction | llm_request | tool | tool.blocked_on_user | tool.execution
    started_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    status_code TEXT,
    status_message TEXT,
    session_id TEXT,
    tool_use_id TEXT,
    tool_name TEXT,
    model TEXT,
    input_tokens BIGINT,
    output_tokens BIGINT,
    cache_read_tokens BIGINT,
    cache_creation_tokens BIGINT,
    request_id TEXT,
    ttft_ms DOUBLE PRECISION,
    success BOOLEAN,
    decision TEXT,
    decision_source TEXT,
    prompt_text TEXT,
    attributes JSONB,
    events JSONB,
    resource JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_cc_spans_trace ON claude_code_spans(trace_id, started_at);
CREATE INDEX idx_cc_spans_session ON claude_code_spans(session_id, started_at) WHERE span_type = 'interaction';
CREATE INDEX idx_cc_spans_tool_use ON claude_code_spans(tool_use_id) WHERE tool_use_id IS NOT NULL;

-- What the log events say: this native trace is the turn of this prompt.
CREATE TABLE claude_code_trace_links (
    native_trace_id UUID PRIMARY KEY,
    prompt_id TEXT NOT NULL,
    session_id TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_cc_links_prompt ON claude_code_trace_links(prompt_id);
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS claude_code_trace_links;
DROP TABLE IF EXISTS claude_code_spans;
DROP TABLE IF EXISTS claude_code_metric_points;
DROP TABLE IF EXISTS claude_code_events;
DROP INDEX IF EXISTS idx_execution_traces_session_started;
DROP INDEX IF EXISTS idx_execution_traces_prompt;
ALTER TABLE execution_traces DROP COLUMN IF EXISTS native_trace_id;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
