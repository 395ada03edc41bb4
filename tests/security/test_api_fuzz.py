"""The lineage API fuzzed with schemathesis from its own OpenAPI document, against the real server
(`traceability api` on a free port, real PostgreSQL): no 5xx for valid (positive) or invalid
(negative) requests, and hostile values are stored safely or rejected with a message."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.support.api_process import ApiServer, running_api

EXAMPLES = int(os.environ.get("TRACEABILITY_API_FUZZ_EXAMPLES", "15"))


def _fuzz_api(api: ApiServer, examples: int) -> dict[str, int]:
    schema = schemathesis.openapi.from_url(api.base + "/openapi.json")
    statuses: dict[str, int] = {}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 3, "the API's OpenAPI document lists too few operations"
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz_operation(api, operation, mode, examples, statuses, failures)
            except Unsatisfiable:  # e.g. no invalid request exists for an operation without parameters
                assert mode is GenerationMode.NEGATIVE, operation.path
    assert failures == [], "\n".join(failures[:10])
    assert api.process.poll() is None
    return statuses


def _fuzz_operation(
    api: ApiServer,
    operation: Any,
    mode: GenerationMode,
    examples: int,
    statuses: dict[str, int],
    failures: list[str],
) -> None:
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=api.base, timeout=60)
        key = f"{operation.method.upper()} {operation.path} {mode.value} {response.status_code}"
        statuses[key] = statuses.get(key, 0) + 1
        if response.status_code >= 500:
            failures.append(f"{key}: {case.as_curl_command()} -> {response.text[:500]}")

    run()


def test_api_fuzzed_from_its_openapi_no_5xx(db_dsn: str, tmp_path: Path) -> None:
    with running_api(db_dsn, tmp_path / "api.log") as api:
        statuses = _fuzz_api(api, EXAMPLES)
    print("\n".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    assert any(k.endswith(" 200") for k in statuses)  # the fuzz reached real work, not only 422s
    assert any(" 422" in k or " 400" in k for k in statuses)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_api_fuzz_long(db_dsn: str, tmp_path: Path) -> None:
    with running_api(db_dsn, tmp_path / "api.log") as api:
        _fuzz_api(api, EXAMPLES * 20)
