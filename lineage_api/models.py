"""Request and response models of the lineage API (what its OpenAPI document at /docs shows)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, Field

from traceability.lineage_api.store.graph import EvolutionEdge, EvolutionNode

T = TypeVar("T")


class EventType(StrEnum):
    PATTERN_CREATED = "pattern_created"
    PATTERN_MODIFIED = "pattern_modified"
    PATTERN_MERGED = "pattern_merged"
    PATTERN_APPLIED = "pattern_applied"
    PATTERN_DEPRECATED = "pattern_deprecated"
    PATTERN_FORKED = "pattern_forked"


class EdgeType(StrEnum):
    DERIVED_FROM = "derived_from"
    MODIFIED_FROM = "modified_from"
    MERGED_FROM = "merged_from"
    REPLACED_BY = "replaced_by"
    INSPIRED_BY = "inspired_by"
    DEPRECATED_BY = "deprecated_by"


class TransformationType(StrEnum):
    REFACTOR = "refactor"
    ENHANCEMENT = "enhancement"
    BUGFIX = "bugfix"
    MERGE = "merge"
    OPTIMIZATION = "optimization"
    SIMPLIFICATION = "simplification"


class QueryType(StrEnum):
    ANCESTRY = "ancestry"
    DESCENDANTS = "descendants"


class GraphFormat(StrEnum):
    JSON = "json"
    MERMAID = "mermaid"
    DOT = "dot"
    TREE = "tree"  # an indented text tree, for terminals


PatternId = Field(min_length=1, max_length=255, description="the pattern's id")


class LineageTrackRequest(BaseModel):
    event_type: EventType
    pattern_id: str = PatternId
    pattern_name: str = ""
    pattern_type: str = "code"
    pattern_version: str = Field(default="1.0.0", min_length=1, max_length=64)
    tool_name: str | None = None
    file_path: str | None = None
    language: str = "python"
    pattern_data: dict[str, Any] = Field(default_factory=dict)
    parent_pattern_ids: list[str] = Field(default_factory=list)
    edge_type: EdgeType | None = None
    transformation_type: TransformationType | None = None
    reason: str | None = None
    triggered_by: str = "api"
    metadata: dict[str, Any] = Field(default_factory=dict)


class LineageTrackBatchRequest(BaseModel):
    events: list[LineageTrackRequest] = Field(min_length=1, max_length=1000)
    batch_id: str | None = None
    processing_mode: Literal["parallel", "sequential"] = "parallel"
    sequential_processing: bool = False
    timeout_per_event: float = Field(default=10.0, gt=0, le=60)


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    data: T
    metadata: dict[str, Any] = Field(default_factory=dict)


class TrackResult(BaseModel):
    """What a lineage operation did. ``node_id`` == ``pattern_node_id`` (examples/example2_pattern_lineage_tracking.py reads it)."""

    status: Literal["created", "already_exists", "recorded"]
    message: str | None = None
    operation: str
    pattern_id: str
    pattern_name: str
    pattern_version: str
    pattern_node_id: UUID
    node_id: UUID
    lineage_id: UUID | None
    generation: int
    event_id: UUID | None
    parent_node_ids: list[UUID] = Field(default_factory=list)
    edge_ids: list[UUID] = Field(default_factory=list)
    created_at: datetime


class BatchSummary(BaseModel):
    total_events: int
    successful_events: int
    failed_events: int
    handled_duplicates: int
    processing_mode: str
    requested_processing_mode: str


class BatchItemResult(BaseModel):
    event_index: int
    pattern_id: str
    data: TrackResult | None = None
    error: str | None = None
    status_code: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class BatchTrackResponse(BaseModel):
    success: bool
    batch_id: str | None
    batch_summary: BatchSummary
    successful_results: list[BatchItemResult]
    failed_results: list[BatchItemResult] | None
    metadata: dict[str, Any]


class Ancestor(BaseModel):
    ancestor_id: UUID
    ancestor_pattern_id: str
    ancestor_pattern_name: str
    ancestor_version: str
    generation: int = Field(description="hops from the queried node: 1 = parent")
    node_generation: int = Field(description="the ancestor's own generation in its lineage")
    edge_type: str
    transformation_type: str | None
    child_node_id: UUID = Field(description="the node this ancestor is a parent of on the path")
    created_at: datetime


class AncestryData(BaseModel):
    pattern_id: str
    pattern_name: str
    pattern_node_id: UUID
    pattern_version: str
    lineage_id: UUID | None
    generation: int
    max_depth: int
    ancestors: list[Ancestor]
    ancestry_depth: int
    total_ancestors: int
    from_cache: bool


class Descendant(BaseModel):
    descendant_id: UUID
    descendant_pattern_id: str
    descendant_pattern_name: str
    descendant_version: str
    generation: int = Field(description="hops from the queried node: 1 = child")
    node_generation: int
    edge_type: str
    transformation_type: str | None
    parent_node_id: UUID = Field(description="the node this descendant is a child of on the path")
    created_at: datetime


class DescendantsData(BaseModel):
    pattern_id: str
    pattern_name: str
    pattern_node_id: UUID
    pattern_version: str
    lineage_id: UUID | None
    generation: int
    max_depth: int
    descendants: list[Descendant]
    descendants_depth: int
    total_descendants: int


class EvolutionData(BaseModel):
    pattern_id: str
    total_versions: int
    evolution_nodes: list[EvolutionNode]
    evolution_edges: list[EvolutionEdge]


class StatsData(BaseModel):
    total_patterns: int
    total_nodes: int
    total_edges: int
    total_events: int
    total_traces: int
    total_hook_executions: int
    total_pattern_executions: int
    nodes_by_status: dict[str, int]
    edges_by_type: dict[str, int]
    events_by_type: dict[str, int]
    deriver_checkpoint: dict[str, Any] | None


class PatternSummary(BaseModel):
    pattern_id: str
    pattern_name: str
    pattern_type: str
    latest_version: str
    latest_node_id: UUID
    total_versions: int
    generation: int
    lineage_id: UUID | None
    qualified_name: str | None
    file_path: str | None
    language: str | None
    status: str
    total_executions: int
    first_seen_at: datetime
    last_updated_at: datetime


class PatternList(BaseModel):
    patterns: list[PatternSummary]
    total: int
    limit: int
    offset: int
    has_more: bool


class TurnTotals(BaseModel):
    """What the model did in a turn (or a session): from Claude Code's own telemetry."""

    llm_calls: int
    api_errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    cost_usd: float
    models: list[str]
    model_ms: float = Field(description="sum of api_request / api_error durations")
    tool_ms: float = Field(description="Claude Code's tool execution spans, else the hook tool spans")
    permission_wait_ms: float = Field(description="claude_code.tool.blocked_on_user spans")
    hook_ms: float = Field(description="Claude Code's hook_execution_complete timings, else the hook spans")


class TimelineItem(BaseModel):
    origin: str = Field(description="hooks | native | event")
    time: datetime
    end_time: datetime | None
    name: str
    kind: str | None
    span_id: str | None
    parent_span_id: str | None
    tool_use_id: str | None
    joined_span_id: str | None = Field(
        description="native tool spans: the hook execute_tool span of the same tool_use_id"
    )
    duration_ms: float | None
    status: str | None
    details: dict[str, Any]


class TurnSummary(BaseModel):
    turn_id: UUID
    origin: str
    prompt_id: str | None
    native_trace_id: UUID | None
    started_at: datetime
    completed_at: datetime | None
    duration_ms: float | None
    status: str
    success: bool | None
    totals: TurnTotals


class SessionSummary(BaseModel):
    session_id: str
    started_at: datetime
    last_activity_at: datetime
    turns: int
    user_id: str | None
    has_native_telemetry: bool
    totals: TurnTotals


class SessionList(BaseModel):
    sessions: list[SessionSummary]
    total: int
    limit: int
    offset: int
    has_more: bool


class SessionData(BaseModel):
    session_id: str
    turns: list[TurnSummary]
    totals: TurnTotals


class TraceData(BaseModel):
    correlation_id: UUID
    jaeger_trace_id: str
    jaeger_url: str | None = Field(
        description="the trace in Jaeger's UI; null unless a Jaeger UI is configured"
    )
    ui_url: str = Field(description="the turn's waterfall in this service's web UI (a path on this host)")
    trace: dict[str, Any]
    hook_executions: list[dict[str, Any]] | None = Field(
        description="with ?detail=full: every hook execution in order, every column (inputs, outputs,"
        " attributes); null otherwise (the timeline has every hook span, GET traces/{id}/spans/{span_id}"
        " one span's row)"
    )
    total_hook_executions: int
    pattern_executions: list[dict[str, Any]]
    native_trace_id: str | None = Field(
        default=None,
        description="Claude Code's own trace id for this turn (32 hex), when its telemetry arrived",
    )
    native_jaeger_url: str | None = None
    origin: str = Field(default="hooks", description="hooks | native (a Claude Code turn without hook data)")
    totals: TurnTotals
    timeline: list[TimelineItem] = Field(
        description="hook spans, Claude Code's spans and its events, in time order"
    )


class SpanData(BaseModel):
    correlation_id: UUID = Field(description="the turn's, as GET traces/{id} gives it")
    span_id: str
    origin: Literal["turn", "hooks", "native"] = Field(
        description="the turn's root span, a hook span, or one of Claude Code's own"
    )
    span: dict[str, Any] = Field(
        description="every column of the span's row: execution_traces (origin turn: the prompt,"
        " status, totals' inputs), hook_executions (origin hooks: input_data, output_data, attributes,"
        " events, ...) or claude_code_spans (origin native)"
    )
    pattern_executions: list[dict[str, Any]] = Field(
        description="the pattern executions the span caused (hook tool spans)"
    )
