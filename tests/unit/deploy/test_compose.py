"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked statically:
it parses, every file it references exists, every TOUCHSTREAM_* variable is a real setting, and every
service command is a real `touchstream` command."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.main import get_command

from cli.main import app
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env_keys(service: dict) -> set[str]:
    env = service.get("environment") or {}
    return set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}


def test_compose_parses_and_has_the_pipeline() -> None:
    services = COMPOSE["services"]
    assert {"kafka", "clickhouse", "init", "collector", "worker", "sink", "monitor"} <= set(services)
    assert (
        "KRaft" in (ROOT / "docker-compose.yml").read_text()
        or services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    )
    for name in ("kafka", "clickhouse"):
        assert "healthcheck" in services[name], f"{name} needs a health check"


def test_every_touchstream_variable_is_a_setting() -> None:
    fields = {f"TOUCHSTREAM_{name.upper()}" for name in Settings.model_fields}
    for name, service in COMPOSE["services"].items():
        unknown = {k for k in _env_keys(service) if k.startswith("TOUCHSTREAM_")} - fields
        assert not unknown, f"{name}: {unknown} are not Settings fields"


def test_every_service_command_exists() -> None:
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for name, service in COMPOSE["services"].items():
        if not str(service.get("image", "")).startswith("touchstream:"):
            continue  # Kafka, ClickHouse, Prometheus...: their own images and commands
        command = service.get("command")
        if command:
            assert command[0] in commands, f"{name} runs unknown command {command[0]}"
        entry = service.get("entrypoint")
        if entry:
            for used in re.findall(r"touchstream (\w+)", " ".join(entry)):
                assert used in commands, f"{name} runs unknown command {used}"


def test_referenced_files_exist() -> None:
    for name, service in COMPOSE["services"].items():
        build = service.get("build")
        if build:
            dockerfile = ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
            assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
            for line in dockerfile.read_text().splitlines():
                if line.startswith("COPY "):
                    for src in line.split()[1:-1]:
                        assert (ROOT / src).exists(), f"{dockerfile.name} copies missing {src}"
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: mounts missing {source}"
