"""deploy/: Prometheus rules and scrape config, Alertmanager, Grafana provisioning all parse and agree."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.metrics import MonitorMetrics

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def exported_metrics() -> set[str]:
    names = set()
    for family in MonitorMetrics().registry.collect():
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


def test_every_rule_is_complete_and_uses_real_metrics() -> None:
    rules = [r for g in load(RULES)["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {
        "PipelineVelocityDrop",
        "IntakeDrop",
        "IntakeSilent",
        "ConsumerLagHigh",
    }
    known = exported_metrics() | {"up"}
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"])
        assert rule["labels"]["severity"] in {"page", "warning"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        used = set(re.findall(r"\b(touchstream_[a-z_]+|up)\b", rule["expr"]))
        assert used and used <= known, f"{rule['alert']} uses unknown metrics {used - known}"


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed; the parser test covers it"
)
def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (make system-deps)")
def test_rules_fire_and_resolve_in_promtool_unit_tests() -> None:
    """deploy/prometheus/rules_test.yml: every alert fires after its `for:`, and only then, and clears."""
    tests = RULES.with_name("rules_test.yml")
    tested = {t["alertname"] for case in load(tests)["tests"] for t in case["alert_rule_test"]}
    assert tested == {r["alert"] for g in load(RULES)["groups"] for r in g["rules"]}
    result = subprocess.run(["promtool", "test", "rules", str(tests)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_config_covers_every_service() -> None:
    cfg = load(DEPLOY / "prometheus" / "prometheus.yml")
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in cfg["scrape_configs"]}
    assert targets == {
        "collector": ["collector:8080"],
        "worker": ["worker:9100"],
        "sink": ["sink:9100"],
        "monitor": ["monitor:9100"],
    }
    assert cfg["rule_files"] == ["/etc/prometheus/rules.yml"]


def test_alertmanager_routes_to_a_defined_receiver() -> None:
    cfg = load(DEPLOY / "alertmanager" / "alertmanager.yml")
    receivers = {r["name"] for r in cfg["receivers"]}
    routes = [cfg["route"], *cfg["route"].get("routes", [])]
    assert all(r["receiver"] in receivers for r in routes)


def test_grafana_dashboard_references_provisioned_datasources() -> None:
    sources = load(DEPLOY / "grafana" / "provisioning" / "datasources" / "touchstream.yml")["datasources"]
    by_uid = {s["uid"]: s["type"] for s in sources}
    assert by_uid == {
        "touchstream-clickhouse": "grafana-clickhouse-datasource",
        "touchstream-prometheus": "prometheus",
    }
    provider = load(DEPLOY / "grafana" / "provisioning" / "dashboards" / "touchstream.yml")["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"

    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "touchstream.json").read_text())
    titles = " ".join(p["title"] for p in dash["panels"]).lower()
    for topic in ("attribution", "kpis", "velocity", "intake"):
        assert topic in titles
    known = exported_metrics() | {"up"}
    for panel in dash["panels"]:
        if panel["type"] == "row":
            continue
        ds = panel["datasource"]
        assert by_uid.get(ds["uid"]) == ds["type"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == ds
            if ds["type"] == "prometheus":
                assert set(re.findall(r"\b(touchstream_[a-z_]+|up)\b", target["expr"])) <= known
            else:
                assert target["rawSql"].strip().upper().startswith("SELECT")
