"""The hook path imports semconv/ids/spool: they (and the package) must not load the OTel SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PROBE = """
import json, sys
before = set(sys.modules)
import {module}
loaded = sorted(set(sys.modules) - before)
print(json.dumps(loaded))
"""

HEAVY_PREFIXES = ("opentelemetry", "google.protobuf", "asyncpg", "httpx", "requests", "urllib3")


@pytest.mark.parametrize(
    "module",
    [
        "traceability.instrumentation",
        "traceability.instrumentation.semconv",
        "traceability.instrumentation.spool",
        "traceability.instrumentation.ids",
        "traceability.instrumentation.posix_fs",
        "traceability.instrumentation.redaction.redact",
    ],
)
def test_light_modules_do_not_import_the_sdk(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE.format(module=module)], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    assert module in loaded  # the probe really imported it
    heavy = [name for name in loaded if name.startswith(HEAVY_PREFIXES)]
    assert heavy == []


def test_the_lazy_export_does_load_the_tracer() -> None:
    code = (
        "import sys; from traceability.instrumentation import ExecutionTracer; "
        "print(ExecutionTracer.__module__, 'opentelemetry.sdk.trace' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["traceability.instrumentation.tracer", "True"]


def test_a_bad_otel_propagators_setting_does_not_break_the_tracer() -> None:
    code = (
        "import asyncio; from traceability.instrumentation.tracer import ExecutionTracer\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "t = ExecutionTracer(span_processor=SimpleSpanProcessor(InMemorySpanExporter()))\n"
        "print(asyncio.run(t.start_trace('s', 'p', 'session')))\n"
    )
    env = {
        **os.environ,
        "OTEL_PROPAGATORS": "no-such-propagator",
        "TRACEPARENT": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "0af76519-16cd-43dd-8448-eb211c80319c"
