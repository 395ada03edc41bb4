"""docker-compose.yml is valid Compose (Debian's docker-compose validates it), wires the services
in the right order, and the OTel Collector config and Grafana provisioning hang together."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from traceability.instrumentation import spool

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
COLLECTOR_CONFIG = REPO / "otel-config" / "collector.yaml"
GRAFANA = REPO / "otel-config" / "grafana"
TOKEN = "test-token-0123456789"


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if not found:
        pytest.fail(
            "Debian's docker-compose validates docker-compose.yml: "
            "apt-get install --no-install-recommends docker-compose (`make deploy-tools`)",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as docker-compose resolves it (anchors merged, variables at their defaults)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "GRAFANA_", "TRACEABILITY_"))
    }
    env["TRACEABILITY_API_TOKEN"] = TOKEN
    result = subprocess.run(
        [_docker_compose(), "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, f"docker-compose config rejected the file:\n{result.stderr}"
    resolved: dict[str, Any] = yaml.safe_load(result.stdout)
    return resolved


def _volumes(service: dict[str, Any]) -> list[dict[str, str]]:
    """Volumes as {type, source, target}, from either the short ("src:dst:mode") or the long syntax."""
    out = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
            kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
            volume = {"type": kind, "source": source, "target": target}
        out.append(volume)
    return out


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    return config


def test_docker_compose_rejects_a_broken_file(tmp_path: Path) -> None:
    """The validator used above really validates (a wrong depends_on condition is refused)."""
    broken = COMPOSE.read_text().replace("service_completed_successfully", "service_finished", 1)
    (tmp_path / "docker-compose.yml").write_text(broken)
    result = subprocess.run(
        [_docker_compose(), "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, "TRACEABILITY_API_TOKEN": TOKEN},
        check=False,
    )
    assert result.returncode != 0
    assert "service_finished" in result.stderr


def test_services_and_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "migrate",
        "traceability-collector",
        "api",
        "jaeger",
        "otel-collector",
        "grafana",
    }
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("traceability-collector", "api"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
    assert services["otel-collector"]["depends_on"] == {
        "jaeger": {"condition": "service_healthy"},
        "traceability-collector": {"condition": "service_healthy"},
    }
    for name in ("postgres", "traceability-collector", "api", "jaeger", "grafana"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    # every service that others wait on as healthy has a healthcheck
    for service in services.values():
        for dep, cond in service.get("depends_on", {}).items():
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], dep
    published = {
        (name, p["published"], p["target"]) for name, s in services.items() for p in s.get("ports", [])
    }
    assert {
        ("api", 8053, 8053),
        ("jaeger", 16686, 16686),
        ("otel-collector", 4317, 4317),
        ("otel-collector", 4318, 4318),
        ("grafana", 3000, 3000),
    } <= {(n, int(a), int(b)) for n, a, b in published}
    db_url = services["api"]["environment"]["TRACEABILITY_DB_URL"]
    assert db_url.startswith("postgresql://traceability:") and db_url.endswith("@postgres:5432/traceability")
    assert services["migrate"]["environment"]["TRACEABILITY_DB_URL"] == db_url
    # our services listen beyond loopback, so they need the token, and the OTel Collector sends it
    for name in ("traceability-collector", "api"):
        assert services[name]["environment"]["TRACEABILITY_API_TOKEN"] == TOKEN
    assert services["otel-collector"]["environment"]["TRACEABILITY_API_TOKEN"] == TOKEN


def test_compose_refuses_to_start_without_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRACEABILITY_API_TOKEN"}
    result = subprocess.run(
        [_docker_compose(), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode != 0 and "set TRACEABILITY_API_TOKEN" in result.stderr


def test_bind_mounts_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in _volumes(service):
            if volume["type"] == "bind" and volume["target"] != "/spool":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']} does not exist"
    assert (REPO / "Dockerfile").is_file()


def test_our_commands_match_the_cli(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    from traceability.cli.main import build_parser

    parser = build_parser()
    for name in ("migrate", "traceability-collector", "api"):
        parser.parse_args(compose["services"][name]["command"])  # SystemExit on an unknown command or flag
    exporter = collector["exporters"]["otlphttp/traceability"]
    port = compose["services"]["traceability-collector"]["command"][
        compose["services"]["traceability-collector"]["command"].index("--port") + 1
    ]
    assert exporter["endpoint"] == f"http://traceability-collector:{port}"
    assert exporter["headers"]["Authorization"] == "Bearer ${env:TRACEABILITY_API_TOKEN}"
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"


def test_collector_config_structure(collector: dict[str, Any], compose: dict[str, Any]) -> None:
    service = collector["service"]
    pipeline = service["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        for component in pipeline[kind]:
            assert component in collector[kind], f"{component} is used but not defined"
        assert set(collector[kind]) == set(pipeline[kind]), f"unused {kind}"
    assert set(service["extensions"]) == set(collector["extensions"])
    assert pipeline["processors"][0] == "memory_limiter" and pipeline["processors"][-1] == "batch"
    assert set(collector["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    assert set(pipeline["exporters"]) == {"otlp/jaeger", "otlphttp/traceability"}
    for name in pipeline["exporters"]:
        queue = collector["exporters"][name]["sending_queue"]
        assert queue["enabled"] and queue["storage"] == "file_storage", f"{name}: queue not persistent"
    spool_receiver = collector["receivers"]["otlpjsonfile/spool"]
    assert spool_receiver["storage"] == "file_storage"
    (pattern,) = spool_receiver["include"]
    final = spool.spool_file_name("1732500000000000000-123-abcd")
    assert fnmatch.fnmatch("/spool/" + final, pattern)
    assert not fnmatch.fnmatch("/spool/.1732500000000000000-123-abcd.tmp", pattern)
    storage_dir = collector["extensions"]["file_storage"]["directory"]
    otel = compose["services"]["otel-collector"]
    targets = {v["target"] for v in _volumes(otel)}
    assert "/spool" in targets and any(storage_dir.startswith(t + "/") for t in targets)
    assert "/etc/otelcol-contrib/config.yaml" in targets
    if spool_receiver.get("delete_after_read"):
        assert spool_receiver["start_at"] == "beginning"
        assert "--feature-gates=filelog.allowFileDeletion" in otel["command"]


def test_grafana_provisioning(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {v["target"]: Path(v["source"]) for v in _volumes(grafana) if v["type"] == "bind"}
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml").read_text())
    (provider,) = providers["providers"]
    dash_dir = mounts[provider["options"]["path"]]
    assert dash_dir == REPO / "lineage_api" / "ui" / "dashboards"  # shipped in the package too
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (dash_dir / Path(home).name).is_file()
    assert mounts["/etc/grafana/provisioning"] == GRAFANA / "provisioning"
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text())
    pg = next(d for d in datasources["datasources"] if d["type"] == "grafana-postgresql-datasource")
    assert pg["url"] == "postgres:5432" and pg["jsonData"]["database"] == "traceability"
    initdb = (REPO / "otel-config" / "postgres" / "initdb" / "10-grafana-reader.sh").read_text()
    assert f"CREATE ROLE {pg['user']} LOGIN" in initdb
    assert (
        "GRAFANA_DB_PASSWORD" in grafana["environment"]
        and pg["secureJsonData"]["password"] == "${GRAFANA_DB_PASSWORD}"
    )
    jaeger = next(d for d in datasources["datasources"] if d["type"] == "jaeger")
    assert jaeger["url"] == "http://jaeger:16686"


def test_hooks_config_example_is_the_seed_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example parses with the hook's own settings loader into the values it documents."""
    from traceability.hooks.settings import HookSettings

    for name in [n for n in os.environ if n.startswith(("TRACEABILITY_", "XDG_"))]:
        monkeypatch.delenv(name)  # variables win over the file

    example = yaml.safe_load((REPO / "otel-config" / "hooks-config.example.yaml").read_text())
    assert {"enforcement", "rag", "quorum", "logging"} <= set(example)  # the sections hooks/settings.py reads
    settings = HookSettings(example)
    assert settings.enforcement_enabled and settings.enforcement_mode == "warn"
    assert settings.performance_budget_s == example["enforcement"]["performance_budget_seconds"] == 2.0
    assert settings.intercept_tools == ("Write", "Edit", "MultiEdit")
    assert settings.rag_base_url == "http://localhost:8181" and settings.rag_timeout_s == 0.5
    assert settings.service_name == "claude-code-hooks" and settings.capture_prompts is False
    assert settings.spool_dir.endswith("/.local/state/traceability/spool")
    assert settings.executions_log.endswith("/.claude/hooks/logs/hook_executions.log")
