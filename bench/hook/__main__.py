"""bench/hook: wall time of a telemetry-only Claude Code hook process next to an empty interpreter
started the same way, in the same run; then the quality enforcer's cost, separately.

    .venv/bin/python -m bench.hook [--runs 400] [--enforcer-runs 30]

- baseline: ``<venv python> -I -S empty.py`` fed the same stdin (the floor any Python hook pays);
- hook: ``<venv python> -I -S hooks/fast_entry.py`` (what ``traceability hooks install`` writes), fed
  the events of a recorded Claude Code session (tests/fixtures/.../v2.1.270_s01_S01_startup_tools)
  in order, session after session, so the correlation state evolves as in real use;
- runs interleaved (alternating which goes first), medians reported: this machine is shared and noisy.

Target: overhead (hook - baseline) <= 3 ms median. The enforcer (ruff on a Python Write, block mode)
is reported as its own median next to the telemetry-only PreToolUse of the same payload.

Large payloads (issue 11, item 8): a 10 MB Write (PostToolUse, every line full of redaction hints)
and a 50 MB prompt with capture on, next to the small Write, as medians and ratios; the hook must
stay far below Claude Code's hook timeout (strings are cut before they are redacted).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import progress
from traceability.hooks.install import entry_script

SEQUENCE = (
    Path(__file__).resolve().parents[2]
    / "tests/fixtures/claude-code-hooks/sequences/v2.1.270_s01_S01_startup_tools.jsonl"
)
TARGET_MS = 3.0
PYTHON_WRITE = '''"""A module Claude Code is about to write."""

import os
import sys


def load(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def main() -> int:
    print(load(sys.argv[1]))
    return undefined_name
'''


def _sessions(events: list[dict[str, object]]) -> list[bytes]:
    """The recorded session with fresh session and prompt ids, as stdin payloads."""
    session, prompt = str(uuid.uuid4()), str(uuid.uuid4())
    out = []
    for event in events:
        event = dict(event)
        event["session_id"] = session
        if "prompt_id" in event:
            event["prompt_id"] = prompt
        out.append(json.dumps(event).encode())
    return out


def _cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(command: list[str], stdin: bytes, env: dict[str, str], cpu: list[float] | None = None) -> float:
    """Wall ms of one run; its CPU ms appended to ``cpu`` (less sensitive than wall time to what
    else the machine is running, though not immune: caches and frequency are shared)."""
    cpu_before = _cpu_s()
    started = time.perf_counter()
    completed = subprocess.run(command, input=stdin, stdout=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{command} exited {completed.returncode}")
    if cpu is not None:
        cpu.append((_cpu_s() - cpu_before) * 1000)
    return elapsed * 1000


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(samples):7.2f} ms   p90 {p90:7.2f} ms   (n={len(samples)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hook", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=400, help="hook runs (and as many baseline runs)")
    parser.add_argument("--enforcer-runs", type=int, default=30, help="runs of the enforcer comparison")
    parser.add_argument("--large-runs", type=int, default=5, help="runs of each large payload")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="bench-hook-"))
    try:
        (root / "empty.py").write_text("")
        config = root / "config.yaml"
        env = {
            "HOME": str(root / "home"), "PATH": "/usr/bin:/bin",
            "TRACEABILITY_STATE_DIR": str(root / "state"), "TRACEABILITY_SPOOL_DIR": str(root / "spool"),
            "TRACEABILITY_HOOK_LOG_DIR": str(root / "logs"), "TRACEABILITY_HOOK_CONFIG": str(config),
        }  # fmt: skip
        python = sys.executable
        baseline_cmd = [python, "-I", "-S", str(root / "empty.py")]
        hook_cmd = [python, "-I", "-S", str(entry_script())]
        events = [json.loads(line) for line in SEQUENCE.read_text().splitlines() if line.strip()]

        payloads: list[bytes] = []
        for _ in range(2):  # warm-up: byte-compile, fill the config cache
            payloads = _sessions(events)
            for stdin in payloads:
                _time(hook_cmd, stdin, env)
                _time(baseline_cmd, stdin, env)
        baseline: list[float] = []
        hook: list[float] = []
        baseline_cpu: list[float] = []
        hook_cpu: list[float] = []
        queue: list[bytes] = []
        for i in range(args.runs):
            if not queue:
                queue = _sessions(events)
                shutil.rmtree(root / "spool", ignore_errors=True)
            stdin = queue.pop(0)
            if i % 2:
                baseline.append(_time(baseline_cmd, stdin, env, baseline_cpu))
                hook.append(_time(hook_cmd, stdin, env, hook_cpu))
            else:
                hook.append(_time(hook_cmd, stdin, env, hook_cpu))
                baseline.append(_time(baseline_cmd, stdin, env, baseline_cpu))
            if i % 10 == 9 or i == args.runs - 1:
                progress("telemetry-only hook", i + 1, args.runs)

        write = {
            "session_id": str(uuid.uuid4()), "prompt_id": str(uuid.uuid4()), "cwd": str(root),
            "hook_event_name": "PreToolUse", "tool_name": "Write", "tool_use_id": "toolu_bench",
            "tool_input": {"file_path": str(root / "module.py"), "content": PYTHON_WRITE},
        }  # fmt: skip
        stdin = json.dumps(write).encode()
        enforced_cfg = "enforcement:\n  enabled: true\n  mode: block\n  performance_budget_seconds: 10\n"
        plain: list[float] = []
        enforced: list[float] = []
        for i in range(args.enforcer_runs):
            config.write_text("enforcement:\n  enabled: false\n")
            _time(hook_cmd, stdin, env)  # re-caches the config outside the timed run
            plain.append(_time(hook_cmd, stdin, env))
            config.write_text(enforced_cfg)
            _time(hook_cmd, stdin, env)
            enforced.append(_time(hook_cmd, stdin, env))
            progress("quality enforcer", i + 1, args.enforcer_runs)

        config.write_text("enforcement:\n  enabled: false\n")
        large_env = {**env, "TRACEABILITY_CAPTURE_PROMPTS": "1"}
        hinted = "token = SECRET  # password API_KEY eyJ AKIA sk-x: hints on every line\n"
        large = {
            "10 MB Write (PostToolUse)": {**write, "hook_event_name": "PostToolUse", "tool_response": {"type": "create"},
                                          "tool_input": {"file_path": str(root / "big.py"),
                                                         "content": hinted * (10_000_000 // len(hinted))}},
            "50 MB prompt, capture on ": {"session_id": write["session_id"], "prompt_id": str(uuid.uuid4()),
                                          "hook_event_name": "UserPromptSubmit", "cwd": str(root),
                                          "prompt": hinted * (50_000_000 // len(hinted))},
        }  # fmt: skip
        small: list[float] = []
        large_ms: dict[str, list[float]] = {name: [] for name in large}
        for i in range(args.large_runs):
            small.append(_time(hook_cmd, stdin, large_env))
            for name, event in large.items():
                large_ms[name].append(_time(hook_cmd, json.dumps(event).encode(), large_env))
            progress("large payloads", i + 1, args.large_runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    base_ms, hook_ms = statistics.median(baseline), statistics.median(hook)
    overhead = hook_ms - base_ms
    print(f"\ninterpreter: {python} -I -S   (events of {SEQUENCE.name}, interleaved)")
    print(f"  baseline, empty script : {_summary(baseline)}")
    print(f"  telemetry-only hook    : {_summary(hook)}")
    print(f"  overhead (median)      : {overhead:7.2f} ms   ratio hook/baseline {hook_ms / base_ms:.2f}x")
    print(f"  target <= {TARGET_MS:.0f} ms overhead : {'met' if overhead <= TARGET_MS else 'NOT met'}")
    base_cpu, hook_cpu_ms = statistics.median(baseline_cpu), statistics.median(hook_cpu)
    print(
        f"  CPU (user+sys) median  : baseline {base_cpu:.2f} ms, hook {hook_cpu_ms:.2f} ms, "
        f"overhead {hook_cpu_ms - base_cpu:.2f} ms ({hook_cpu_ms / base_cpu:.2f}x)"
    )
    plain_ms, enforced_ms = statistics.median(plain), statistics.median(enforced)
    print("\nquality enforcer (PreToolUse Write of a Python file, ruff, block mode, no RAG):")
    print(f"  telemetry only         : {_summary(plain)}")
    print(f"  with the enforcer      : {_summary(enforced)}")
    print(
        f"  enforcer cost (median) : {enforced_ms - plain_ms:7.2f} ms   ratio {enforced_ms / plain_ms:.2f}x"
    )
    small_ms = statistics.median(small)
    print("\nlarge payloads (telemetry only, prompt capture on):")
    print(f"  small Write (PreToolUse)   : {_summary(small)}")
    for name, samples in large_ms.items():
        print(f"  {name} : {_summary(samples)}   ratio {statistics.median(samples) / small_ms:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
