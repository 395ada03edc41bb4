"""Example 1: a basic execution trace with ``ExecutionTracer``: one turn, two hook executions, done.

``main`` is written the way a caller of the tracer API writes it, plus the ``await tracer.shutdown()``
that flushes the spans; tests/instrumentation/test_example1_script.py runs this file as it is.

Spans go to ``$OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP/HTTP) when set, else to the spool directory
(``$TRACEABILITY_SPOOL_DIR``), from where ``traceability collector`` stores them in PostgreSQL.
"""

import asyncio
from uuid import uuid4

from traceability.instrumentation.tracer import ExecutionTracer


# Kept as a caller wrote it (ruff format would reflow it):
# fmt: off
async def main():
    tracer = ExecutionTracer()

    # Start trace for user prompt
    session_id = str(uuid4())
    corr_id = await tracer.start_trace(
        source="user-prompt-submit",
        prompt_text="Implement authentication system",
        session_id=session_id,
        tags=["authentication", "backend"]
    )

    # Track quality enforcement hook
    await tracer.track_hook_execution(
        correlation_id=corr_id,
        hook_name="quality-enforcer",
        tool_name="Write",
        duration_ms=125.5,
        success=True,
        quality_check_performed=True,
        quality_results={
            "violations_found": 3,
            "corrections_applied": 2,
            "quality_score": 0.85
        }
    )

    # Track RAG query hook
    await tracer.track_hook_execution(
        correlation_id=corr_id,
        hook_name="rag-intelligence",
        tool_name="Write",
        duration_ms=450.0,
        success=True,
        rag_query_performed=True,
        rag_results={
            "matches": 5,
            "confidence": 0.92,
            "top_pattern": "async_db_writer_v2"
        }
    )

    # Complete trace
    await tracer.complete_trace(corr_id, success=True)
    await tracer.shutdown()
# fmt: on


if __name__ == "__main__":
    asyncio.run(main())
