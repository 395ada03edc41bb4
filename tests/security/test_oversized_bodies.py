"""A body over the limit is 413, decided from the declared length before anything else (before the
in-flight budget, which used to answer 429 so clients retried for ever), sent with
``Connection: close``, and readable by a client that sends its whole body before reading: the
real OTel SDK exporter (which must not retry it), ``http.client`` and ``urllib``; collector and API."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.api_process import running_api
from tests.support.collector import running_collector
from traceability.instrumentation import semconv as sc

MiB = 1024 * 1024
BODY = 66 * MiB  # over the 16 MiB body limit and over the 64 MiB in-flight budget


def _big_spans(total: int) -> Sequence[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    for i in range(total // MiB):
        tracer.start_span("big", attributes={sc.INPUT_DATA: chr(97 + i % 26) * MiB}).end()
    return memory.get_finished_spans()


def _post_whole(url: str, body: bytes, content_type: str) -> tuple[int, dict[str, str], bytes]:
    """http.client: send headers and the whole body, then read the answer."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        conn.request("POST", parts.path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_sdk_exporter_gets_413_once_and_does_not_retry(db_dsn: str, tmp_path: Path) -> None:
    spans = _big_spans(BODY)
    statuses: list[int] = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: statuses.append(response.status_code))
    with running_collector(db_dsn, tmp_path) as collector:
        # SDKs before 1.4x had no client-side cap; newer ones drop batches over 64 MiB unless raised
        exporter = OTLPSpanExporter(
            endpoint=collector.traces_url, timeout=30, session=session, max_request_size=128 * MiB
        )
        assert exporter.export(spans) is SpanExportResult.FAILURE
        exporter.shutdown()
        assert statuses == [413]
        assert collector.health()["receiver"]["inflight_bytes"] == 0  # type: ignore[index]
        assert collector.process.poll() is None


def test_collector_413_is_read_by_http_client_and_urllib_sending_the_whole_body(
    db_dsn: str, tmp_path: Path
) -> None:
    body = b"\0" * (70 * MiB)
    with running_collector(db_dsn, tmp_path) as collector:
        status, headers, answer = _post_whole(collector.traces_url, body, "application/json")
        assert status == 413
        assert headers["connection"] == "close"
        assert json.loads(answer)["message"] == (
            f"request body of {len(body)} bytes is over the {16 * MiB} byte limit"
        )
        request = urllib.request.Request(
            collector.traces_url, data=body, headers={"Content-Type": "application/x-protobuf"}
        )
        try:
            urllib.request.urlopen(request, timeout=60)
            raise AssertionError("expected 413")
        except urllib.error.HTTPError as exc:
            assert exc.code == 413
            assert exc.headers["Connection"] == "close"
            assert b"over the" in exc.read()


def test_api_413_is_read_by_http_client_sending_the_whole_body(db_dsn: str, tmp_path: Path) -> None:
    body = b" " * (70 * MiB)
    with running_api(db_dsn, tmp_path / "api.log") as api:
        status, headers, answer = _post_whole(api.api + "/lineage/track", body, "application/json")
        assert status == 413
        assert headers["connection"] == "close"
        assert (
            json.loads(answer)["error"]
            == f"request body of {len(body)} bytes is over the {16 * MiB} byte limit"
        )
        assert api.process.poll() is None
