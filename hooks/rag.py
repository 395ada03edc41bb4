"""The enforcer's RAG query: POST ``rag.base_url + rag.query_path`` through httpx, instrumented with
opentelemetry-instrumentation-httpx so the request is a child span of the hook span (with its HTTP
attributes), written to the spool by the OTel SDK. Slow path: loads site-packages and the SDK.

The default path and body follow Archon's ``POST /api/rag/query {query, match_count}``; the answer
may hold its matches under ``results``, ``matches`` or ``data``, each scored by ``similarity``,
``score``, ``confidence`` or ``rerank_score``.
"""

from __future__ import annotations

import time
from typing import Any

from traceability.hooks.settings import HookSettings
from traceability.hooks.slowpath import enable_site_packages

_LIST_KEYS = ("results", "matches", "data", "documents", "items")
_SCORE_KEYS = ("similarity", "similarity_score", "score", "confidence", "rerank_score", "relevance")
_NAME_KEYS = ("pattern_id", "pattern_name", "title", "id", "source_id", "url", "source")


def _matches(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return [m for m in body if isinstance(m, dict)]
    if isinstance(body, dict):
        for key in _LIST_KEYS:
            value = body.get(key)
            if isinstance(value, list):
                return [m for m in value if isinstance(m, dict)]
            if isinstance(value, dict):
                nested = _matches(value)
                if nested:
                    return nested
    return []


def _score(match: dict[str, Any]) -> float | None:
    for key in _SCORE_KEYS:
        value = match.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _name(match: dict[str, Any]) -> str:
    metadata = match.get("metadata")
    for source in (match, metadata if isinstance(metadata, dict) else {}):
        for key in _NAME_KEYS:
            value = source.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    return ""


def summarize(body: Any) -> dict[str, Any]:
    """matches, confidence (best score) and top pattern of a RAG answer."""
    matches = _matches(body)
    scored = [(s, m) for m in matches if (s := _score(m)) is not None]
    top = max(scored, key=lambda pair: pair[0])[1] if scored else (matches[0] if matches else None)
    return {
        "matches": len(matches),
        "confidence": max((s for s, _ in scored), default=None),
        "top_pattern": _name(top) if top is not None else None,
    }


def query_rag(
    settings: HookSettings,
    query: str,
    trace_id: int,
    parent_span_id: int,
    resource: dict[str, Any],
    span_attributes: dict[str, Any],
) -> dict[str, Any]:
    """Run the query; returns the ``rag_results`` object (``success`` false with ``error`` on failure)."""
    enable_site_packages()
    import httpx
    from opentelemetry import context, trace
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from traceability.instrumentation.spool_exporter import SpoolSpanExporter

    url = settings.rag_base_url + settings.rag_query_path
    result: dict[str, Any] = {"performed": True, "url": url, "query": query[:500]}
    provider = TracerProvider(resource=Resource(resource))
    provider.add_span_processor(
        SimpleSpanProcessor(SpoolSpanExporter(settings.spool_dir, fsync=settings.fsync))
    )
    parent = trace.NonRecordingSpan(
        trace.SpanContext(trace_id, parent_span_id, is_remote=True, trace_flags=trace.TraceFlags(1))
    )

    def request_hook(span: Any, request: Any) -> None:
        if span is not None and span.is_recording():
            span.set_attributes(span_attributes)

    token = context.attach(trace.set_span_in_context(parent))
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=settings.rag_timeout_s) as client:
            HTTPXClientInstrumentor.instrument_client(
                client, tracer_provider=provider, request_hook=request_hook
            )
            response = client.post(url, json={"query": query, "match_count": settings.rag_match_count})
        result["status_code"] = response.status_code
        if response.status_code >= 400:
            result.update(success=False, error=f"HTTP {response.status_code}: {response.text[:300]}")
        else:
            result.update(success=True, **summarize(response.json()))
    except httpx.TimeoutException as exc:
        result.update(success=False, error=f"timed out after {settings.rag_timeout_s}s: {type(exc).__name__}")
    except (httpx.HTTPError, ValueError) as exc:
        result.update(success=False, error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        context.detach(token)
        provider.shutdown()
    result["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return result
