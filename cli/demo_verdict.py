"""The end of `traceability demo`: the feedback loop's verdict on the demo's A/B experiment.

It asks the lineage API for the experiment's pattern (by the file its first version was written
to), runs ``feedback/analyze`` on it without applying anything, and words the answer: the test,
its p-value, the winner.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from traceability.cli import demo_experiment


def _call(url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def experiment_pattern(api_base: str, workspace: Path) -> dict[str, Any] | None:
    """The pattern the experiment's helper became (the newest of its versions), if derived."""
    home = workspace / demo_experiment.PROJECT / demo_experiment.HOME_MODULE
    query = urllib.parse.urlencode({"file_path": str(home), "name": demo_experiment.FUNCTION})
    answer = _call(f"{api_base}/patterns?{query}")
    patterns = (answer or {}).get("data", {}).get("patterns", [])
    return patterns[0] if patterns else None


def analyze(api_base: str, pattern_id: str, as_of: datetime) -> dict[str, Any] | None:
    answer = _call(
        f"{api_base}/feedback/analyze",
        {
            "pattern_id": pattern_id,
            "feedback_type": "performance",
            "auto_apply": False,
            "as_of": as_of.isoformat(),
        },
    )
    return (answer or {}).get("data")


def _sample(metrics: dict[str, Any]) -> str:
    mean = metrics.get("avg_execution_time_ms")
    return f"{metrics['executions']} executions, mean " + (f"{mean:.0f} ms" if mean is not None else "-")


def describe(output: dict[str, Any], api_base: str) -> list[str]:
    """The verdict in words: one line per test, then the winner and how to apply it."""
    base, improved = output.get("baseline_metrics"), output.get("improved_metrics")
    if not base or not improved:
        return ["feedback loop: " + "; ".join(output.get("warnings") or ["no two versions to compare"])]
    pattern_id = output["pattern_id"]
    lines = [
        f"feedback loop on {demo_experiment.FUNCTION} ({pattern_id}): version {base['pattern_version']} "
        f"({_sample(base)}) against {improved['pattern_version']} ({_sample(improved)})"
    ]
    for v in output.get("validation_results", []):
        p = f"p = {v['p_value']:.3g}" if v["p_value"] is not None else "not run"
        effect = f", {v['effect']:+.1%}" if v.get("effect") is not None else ""
        lines.append(f"  {v['metric']}: {v['test']}, {p}{effect} -> {v['status']}")
    validated = [v for v in output.get("validation_results", []) if v["status"] == "validated"]
    regressed = [v for v in output.get("validation_results", []) if v["status"] == "regression"]
    if validated and not regressed:
        lines.append(
            f"  winner: version {improved['pattern_version']} (confidence {output['confidence_score']:.4f}); "
            f"promote it with: curl -X POST '{api_base}/feedback/apply?pattern_id={pattern_id}'"
        )
    elif regressed:
        lines.append(f"  winner: version {base['pattern_version']} (the candidate is significantly worse)")
    else:
        lines.append("  no winner: the difference is not significant")
    return lines


def verdict(api_base: str, workspace: Path, as_of: datetime) -> list[str]:
    pattern = experiment_pattern(api_base, workspace)
    if pattern is None:
        return [f"feedback loop: the experiment's {demo_experiment.FUNCTION} has not been derived (yet)"]
    output = analyze(api_base, pattern["pattern_id"], as_of)
    if output is None:
        return ["feedback loop: feedback/analyze did not answer"]
    return describe(output, api_base)
