"""`traceability hooks install --telemetry`: Claude Code's env block, idempotent and reversible; doctor sees it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg

from tests.support.cli import USER_SETTINGS, cli, doctor
from tests.support.native_recorded import otlp_bodies
from traceability.exporter.codec.logs import decode_logs_protobuf
from traceability.exporter.storage.native_writer import NativeWriter

EXPECTED_ENV = {
    "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
    "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOGS_EXPORTER": "otlp",
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4999",
}


def test_telemetry_env_is_written_idempotently_and_removed_exactly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    user = {**USER_SETTINGS, "env": {"OTEL_LOGS_EXPORTER": "console", "MY_VAR": "keep"}}
    settings.write_text(json.dumps(user))
    args = (
        "install",
        "--user",
        "--telemetry",
        "--endpoint",
        "http://127.0.0.1:4999/",
        "--protocol",
        "http/json",
    )

    first = cli(*args, home=home)
    assert first.returncode == 0, first.stderr
    data = json.loads(settings.read_text())
    assert data["env"] == {**EXPECTED_ENV, "MY_VAR": "keep"}
    assert data["permissions"] == USER_SETTINGS["permissions"]
    installed = settings.read_text()

    again = cli(*args, home=home)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert settings.read_text() == installed

    plain = cli("install", "--user", home=home)  # without --telemetry the env is left alone
    assert plain.returncode == 0 and json.loads(settings.read_text())["env"] == data["env"]

    removed = cli("uninstall", "--user", home=home)
    assert removed.returncode == 0, removed.stderr
    after = json.loads(settings.read_text())
    assert after == user, "the user's own env values come back, ours are gone"
    assert not list(settings.parent.glob("*.traceability-env.json"))
    assert "nothing changed" in cli("uninstall", "--user", home=home).stdout


def test_a_value_the_user_changed_since_is_kept_on_uninstall(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = home / ".claude" / "settings.json"
    assert cli("install", "--user", "--telemetry", home=home).returncode == 0
    data = json.loads(settings.read_text())
    assert data["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert data["env"]["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    data["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://elsewhere:4318"
    settings.write_text(json.dumps(data))
    assert cli("uninstall", "--user", home=home).returncode == 0
    assert json.loads(settings.read_text())["env"] == {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://elsewhere:4318"}


def test_doctor_says_whether_native_telemetry_is_on_and_arriving(tmp_path: Path, db_dsn: str) -> None:
    _, findings = doctor(tmp_path, "--db-url", db_dsn)
    assert findings["claude code telemetry"]["level"] == "warn"
    assert "--telemetry" in findings["claude code telemetry"]["fix"]

    port_args = ("--endpoint", "http://127.0.0.1:4318")
    assert cli("install", "--user", "--telemetry", *port_args, home=tmp_path).returncode == 0
    collector = ("--collector-url", "http://127.0.0.1:4318")
    _, findings = doctor(tmp_path, "--db-url", db_dsn, *collector)
    assert findings["claude code telemetry"]["level"] == "FAIL"
    assert "no Claude Code event or span has arrived" in findings["claude code telemetry"]["message"]

    _, findings = doctor(tmp_path, "--db-url", db_dsn, "--collector-url", "http://127.0.0.1:9")
    assert (
        findings["claude code telemetry"]["level"] == "warn"
        and "not to the collector" in findings["claude code telemetry"]["message"]
    )

    asyncio.run(_store_recorded_logs(db_dsn))
    _, findings = doctor(tmp_path, "--db-url", db_dsn, *collector)
    assert findings["claude code telemetry"]["level"] == "ok", findings["claude code telemetry"]
    assert "events and 0 spans stored" in findings["claude code telemetry"]["message"]


async def _store_recorded_logs(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        for body in otlp_bodies("protobuf-gzip"):
            if body.signal == "logs":
                await NativeWriter(pool).write_logs(decode_logs_protobuf(body.raw()).records)
    finally:
        await pool.close()
