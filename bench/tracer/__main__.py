"""bench/tracer: the cost of ExecutionTracer's calls against bare OTel SDK spans, in the same run.

    .venv/bin/python -m bench.tracer [--turns 2000] [--rounds 3]

Each turn is examples/example1_basic_trace.py's: ``start_trace``, two ``track_hook_execution``, ``complete_trace``.
Both sides export through a ``BatchSpanProcessor`` to the spool (``SpoolSpanExporter``, fsync on)
in a fresh temporary directory, rounds interleaved, medians reported:

- baseline: the same three spans made directly with the SDK tracer (same names, same attribute
  values precomputed, explicit timestamps), i.e. the floor any SDK-based tracer pays;
- ours: ``ExecutionTracer`` (environment read, id pinning, attribute and JSON building, locking).

Targets: start trace < 2 ms, track hook < 2 ms, complete trace < 2 ms per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from bench.common import progress
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.export_target import ObservedExporter
from traceability.instrumentation.spool_exporter import SpoolSpanExporter
from traceability.instrumentation.tracer import ExecutionTracer
from traceability.instrumentation.tracer_attributes import hook_attributes, turn_attributes

QUALITY = {"violations_found": 3, "corrections_applied": 2, "quality_score": 0.85}
RAG = {"matches": 5, "confidence": 0.92, "top_pattern": "async_db_writer_v2"}
SESSION = "8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6"
CALLS = ("start_trace", "track_hook_execution", "complete_trace")


class Timer:
    """Per-call samples; medians are reported because the exporter thread's GIL pauses land as
    rare multi-millisecond outliers on whichever call happens to be running."""

    def __init__(self) -> None:
        self.samples: dict[str, list[int]] = {c: [] for c in CALLS}
        self.wall_start = time.perf_counter_ns()

    def add(self, call: str, started: int) -> None:
        self.samples[call].append(time.perf_counter_ns() - started)

    def result(self, turns: int, exported: int) -> dict[str, float]:
        out = {c: statistics.median(v) / 1000 for c, v in self.samples.items()}
        out |= {c + " p99": sorted(v)[int(len(v) * 0.99)] / 1000 for c, v in self.samples.items()}
        out["turn wall"] = (time.perf_counter_ns() - self.wall_start) / turns / 1000
        out["exported"] = exported
        return out


async def run_ours(turns: int, spool: str) -> dict[str, float]:
    tracer = ExecutionTracer(span_exporter=SpoolSpanExporter(spool))
    timer = Timer()
    for i in range(turns):
        t = time.perf_counter_ns()
        corr = await tracer.start_trace("user-prompt-submit", "Implement authentication system", SESSION,
                                        tags=["authentication", "backend"])  # fmt: skip
        timer.add("start_trace", t)
        t = time.perf_counter_ns()
        await tracer.track_hook_execution(corr, "quality-enforcer", "Write", 125.5, True, QUALITY, True)
        timer.add("track_hook_execution", t)
        t = time.perf_counter_ns()
        await tracer.track_hook_execution(corr, "rag-intelligence", "Write", 450.0, True, rag_query_performed=True,
                                          rag_results=RAG)  # fmt: skip
        timer.add("track_hook_execution", t)
        t = time.perf_counter_ns()
        await tracer.complete_trace(corr, success=True)
        timer.add("complete_trace", t)
        if i % 100 == 99 or i == turns - 1:
            progress("ours", i + 1, turns)
    await tracer.shutdown()
    return timer.result(turns, (await tracer.health_check()).exported_spans)


def run_baseline(turns: int, spool: str) -> dict[str, float]:
    provider = TracerProvider()
    observed = ObservedExporter(SpoolSpanExporter(spool))
    provider.add_span_processor(BatchSpanProcessor(observed))
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    turn_attrs = turn_attributes(source="user-prompt-submit", prompt_text="Implement authentication system",
                                 session_id=SESSION, root_id="x", parent_id=None, user_id=None, context=None,
                                 tags=["authentication", "backend"])  # fmt: skip
    common: dict[str, Any] = dict(hook_type=None, tool_name="Write", success=True, session_id=SESSION, file_path=None,
                  input_data=None, output_data=None, modifications_made=None, metadata=None,
                  quality_score=None, error=None)  # fmt: skip
    quality_attrs = hook_attributes(hook_name="quality-enforcer", execution_order=1, quality_check_performed=True,
                                    quality_results=QUALITY, rag_query_performed=False, rag_results=None,
                                    **common)  # fmt: skip
    rag_attrs = hook_attributes(hook_name="rag-intelligence", execution_order=2, quality_check_performed=False,
                                quality_results=None, rag_query_performed=True, rag_results=RAG,
                                **common)  # fmt: skip
    timer = Timer()
    for i in range(turns):
        t = time.perf_counter_ns()
        root = tracer.start_span(sc.SPAN_NAME_TURN, context=otel_context.Context(), attributes=turn_attrs,
                                 start_time=time.time_ns())  # fmt: skip
        timer.add("start_trace", t)
        for name, attrs, duration in (
            ("quality-enforcer", quality_attrs, 125.5),
            ("rag-intelligence", rag_attrs, 450.0),
        ):
            t = time.perf_counter_ns()
            end = time.time_ns()
            span = tracer.start_span(sc.hook_span_name(name), context=trace.set_span_in_context(root),
                                     attributes=attrs, start_time=end - int(duration * 1e6))  # fmt: skip
            span.end(end_time=end)
            timer.add("track_hook_execution", t)
        t = time.perf_counter_ns()
        root.set_attribute(sc.TRACE_STATUS, sc.TRACE_STATUS_COMPLETED)
        root.set_attribute(sc.SUCCESS, True)
        root.end(end_time=time.time_ns())
        timer.add("complete_trace", t)
        if i % 100 == 99 or i == turns - 1:
            progress("baseline", i + 1, turns)
    provider.shutdown()
    return timer.result(turns, observed.exported_spans)


def _median(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tracer", description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=2000, help="Example 1 turns per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    args = parser.parse_args(argv)
    ours_rounds: list[dict[str, float]] = []
    base_rounds: list[dict[str, float]] = []
    runners: list[tuple[str, Callable[[str], dict[str, float]]]] = [
        ("baseline", lambda spool: run_baseline(args.turns, spool)),
        ("ours", lambda spool: asyncio.run(run_ours(args.turns, spool))),
    ]
    for round_no in range(args.rounds):
        print(f"round {round_no + 1}/{args.rounds}", file=sys.stderr)
        for name, runner in runners:
            with tempfile.TemporaryDirectory(prefix=f"bench-tracer-{name}-") as spool:
                (base_rounds if name == "baseline" else ours_rounds).append(runner(spool))
    ours, base = _median(ours_rounds), _median(base_rounds)
    print(f"\nper call, {args.turns} Example 1 turns x {args.rounds} rounds (medians of the rounds), in us:")
    print(
        f"{'call':<22}{'ours':>9}{'bare SDK':>10}{'ratio':>8}{'ours p99':>10}{'SDK p99':>9}{'seed target':>13}"
    )
    for call in CALLS:
        print(
            f"{call:<22}{ours[call]:>9.1f}{base[call]:>10.1f}{ours[call] / base[call]:>7.2f}x"
            f"{ours[call + ' p99']:>10.0f}{base[call + ' p99']:>9.0f}{'< 2000':>13}"
        )
    wall, base_wall = ours["turn wall"], base["turn wall"]
    print(
        f"{'whole turn (wall/turn)':<22}{wall:>9.1f}{base_wall:>10.1f}{wall / base_wall:>7.2f}x{'':>19}{'< 10000':>13}"
    )
    spans = 3 * args.turns
    print(f"spans exported: ours {ours['exported']:.0f}/{spans}, bare SDK {base['exported']:.0f}/{spans}"
          " (BatchSpanProcessor drops when its queue, OTEL_BSP_MAX_QUEUE_SIZE=2048, fills)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
