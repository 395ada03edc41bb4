"""Redaction measured on corpora of planted secrets sent through every hook event.

Carriers are the real captured payloads in tests/fixtures/claude-code-hooks: every text field of a
payload gets a canary and a secret next to it, and every object gets one more key that is a secret
(its value a canary), and the real hook process runs on it. Two corpora: tests/security/secrets_corpus.py
(the first one) and tests/security/secret_shapes.py (providers' documented formats, including kinds
no rule was written for). Canaries that
reach the spool prove the field was recorded; no secret may reach the spool, the hook's state or
logs, or (after the collector drains the spool) any table of the database. Ordinary code that merely
looks like a secret must arrive byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.support import secret_shapes, secrets_corpus
from tests.support.collector import start_collector, stop_collector, wait_until
from tests.support.hooks import HookEnv, read_spool
from tests.support.secrets_corpus import ORDINARY_CODE, Planted
from tests.support.tmpfs import mounted_tmpfs
from traceability.instrumentation import semconv as sc

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claude-code-hooks"
# Fields that name things rather than carry content; a secret there would change what the hook does.
STRUCTURAL = frozenset({"session_id", "transcript_path", "cwd", "hook_event_name", "tool_name", "tool_use_id",
                        "prompt_id", "agent_id", "agent_type", "permission_mode", "source", "model", "file_path",
                        "filePath", "type", "reason", "matcher", "trigger", "agent_transcript_path", "subagent_type"})  # fmt: skip


def _carriers(all_payloads: bool) -> list[Path]:
    files = sorted(p for p in FIXTURES.glob("*__*.json"))
    if all_payloads:
        return files
    first: dict[str, Path] = {}
    for path in files:  # one payload per (event, tool): every event and every tool seen
        first.setdefault(path.name.rsplit("__", 1)[0], path)
    return sorted(first.values())


def _next(corpus: Any, plants: list[tuple[str, Planted]], tag: str) -> tuple[str, Planted]:
    n = len(plants)
    secret = corpus.planted(corpus.KINDS[n % len(corpus.KINDS)], f"{tag}-{n}")
    canary = f"CANARY{n:05d}X"
    plants.append((canary, secret))
    return canary, secret


def _plant(value: Any, plants: list[tuple[str, Planted]], tag: str, corpus: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {k: _plant(v, plants, tag, corpus, k) for k, v in value.items()}
        canary, secret = _next(corpus, plants, tag)
        out[secret.text] = canary  # a secret as a key
        return out
    if isinstance(value, list):
        return [_plant(v, plants, tag, corpus, key) for v in value]
    if isinstance(value, str) and key not in STRUCTURAL:
        canary, secret = _next(corpus, plants, tag)
        return f"{value}\n{canary} {secret.text}\n"
    return value


async def _database_text(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        chunks: list[str] = []
        for table in tables:
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{table}" t')
            chunks.extend(r["row"] for r in rows)
        return "\n".join(chunks)
    finally:
        await conn.close()


def _run_corpus(db_dsn: str, tmp_path: Path, all_payloads: bool, corpus: Any = secrets_corpus) -> None:
    hook = HookEnv(tmp_path / "hook", {"TRACEABILITY_CAPTURE_PROMPTS": "1"})
    plants: list[tuple[str, Planted]] = []
    events = 0
    for path in _carriers(all_payloads):
        payload = _plant(json.loads(path.read_text()), plants, path.stem, corpus)
        result = hook.run(payload)
        assert (result.returncode, result.stdout) == (0, b""), (path.name, result)
        events += 1
    spool_text = b"".join(p.read_bytes() for p in hook.spool.glob("*.json")).decode()
    state_text = "".join(p.read_text(errors="replace") for p in hook.state.rglob("*") if p.is_file())
    log_text = "".join(p.read_text(errors="replace") for p in hook.logs.rglob("*") if p.is_file())
    carried = [(c, s) for c, s in plants if c in spool_text]
    leaked_spool = [s for _, s in plants if s.core in spool_text]
    leaked_local = [s for _, s in plants if s.core in state_text or s.core in log_text]
    by_kind = Counter(s.kind for _, s in carried)
    print(
        f"\nredaction: {len(plants)} secrets planted in {events} payloads, {len(carried)} in fields the hook "
        f"records; leaked to spool {len(leaked_spool)}, to state/logs {len(leaked_local)}; carried by kind {dict(by_kind)}"
    )
    assert leaked_spool == [], [f"{s.kind}: {s.core[:12]}..." for s in leaked_spool[:10]]
    assert leaked_local == [], [f"{s.kind}: {s.core[:12]}..." for s in leaked_local[:10]]
    assert set(by_kind) == set(corpus.KINDS), (
        "every kind of secret must have been carried into a recorded field"
    )
    assert len(carried) >= events  # at least one recorded field per payload on average

    collector = start_collector(db_dsn, hook.spool, tmp_path / "collector.log")  # drains the hook's spool
    try:
        wait_until(lambda: not list(hook.spool.glob("*.json")), timeout=60, what="spool drained")
        assert not (hook.spool / "rejected").exists()
    finally:
        stop_collector(collector)
    db_text = asyncio.run(_database_text(db_dsn))
    assert sum(c in db_text for c, _ in carried) == len(carried)  # everything recorded reached the tables
    leaked_db = [s for _, s in plants if s.core in db_text]
    assert leaked_db == [], [f"{s.kind}: {s.core[:12]}..." for s in leaked_db[:10]]


def test_planted_secrets_in_every_hook_event_reach_neither_spool_nor_database(
    db_dsn: str, tmp_path: Path
) -> None:
    _run_corpus(db_dsn, tmp_path, all_payloads=False)


def test_documented_token_formats_in_every_field_and_key_reach_neither_spool_nor_database(
    db_dsn: str, tmp_path: Path
) -> None:
    _run_corpus(db_dsn, tmp_path, all_payloads=False, corpus=secret_shapes)


@pytest.mark.slow
def test_planted_secrets_in_all_captured_payloads(db_dsn: str, tmp_path: Path) -> None:
    _run_corpus(db_dsn, tmp_path, all_payloads=True)


def test_ordinary_code_is_not_mangled(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    base = {"session_id": "plain", "cwd": str(tmp_path), "prompt_id": "7b0c1d2e-3f40-4a51-8b62-7c8d9e0f1a2b"}
    for i, code in enumerate(ORDINARY_CODE):
        target = str(tmp_path / f"m{i}.py")
        for event in ("PreToolUse", "PostToolUse"):
            result = hook.run({**base, "hook_event_name": event, "tool_name": "Write", "tool_use_id": f"w{i}",
                               "tool_input": {"file_path": target, "content": code}, "tool_response": {"type": "create"}})  # fmt: skip
            assert result.returncode == 0, result.stderr
    written = {s.attributes.get(sc.CODE_FILE_PATH): s.attributes.get(sc.CODE_CONTENT) for s in read_spool(hook.spool)
               if s.attributes.get(sc.CODE_CONTENT) is not None}  # fmt: skip
    assert len(written) == len(ORDINARY_CODE)
    for i, code in enumerate(ORDINARY_CODE):
        assert written[str(tmp_path / f"m{i}.py")] == code
    assert "[REDACTED]" not in b"".join(p.read_bytes() for p in hook.spool.glob("*.json")).decode()


@pytest.mark.root_only
def test_spool_on_a_full_disk_hook_exits_zero_quickly_and_logs_why(tmp_path: Path) -> None:
    import time

    hook = HookEnv(tmp_path)
    hook.spool.mkdir(parents=True)
    with mounted_tmpfs(hook.spool, "64k"):
        fd = os.open(hook.spool / "filler", os.O_WRONLY | os.O_CREAT)
        try:  # fill the disk to the last block
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        payload = json.loads((FIXTURES / "PostToolUse__Bash__1.json").read_text())
        started = time.perf_counter()
        result = hook.run(payload)
        elapsed = time.perf_counter() - started
        print(f"\nhook on a full spool disk: exit {result.returncode} in {elapsed * 1000:.0f} ms")
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
        assert "No space left on device" in hook.error_log()
        assert not [p for p in os.listdir(hook.spool) if p != "filler"]  # no half-written file left behind
