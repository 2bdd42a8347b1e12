"""deploy/grafana/dashboards: every PromQL metric exists on a running stack, every SQL panel runs on it.

Grafana itself is not packaged; what can break is the queries. PromQL: each metric name a panel uses
must be exported by some /metrics endpoint of a real `touchstream up` (HELP/TYPE lines count, so a
gauge with no labelled sample yet still counts). SQL: Grafana's macros are replaced by equivalent SQL
and each query runs, wrapped in `SELECT * FROM (...) LIMIT 0`, on the stack's ClickHouse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.up_process import UpProcess

DASHBOARDS = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "dashboards"
PROMETHEUS_BUILTIN = {"up"}  # made by Prometheus itself for each scrape target


def strings(node: Any, keys: set[str]) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys and isinstance(v, str):
                yield v
            yield from strings(v, keys)
    elif isinstance(node, list):
        for x in node:
            yield from strings(x, keys)


def dashboards() -> list[Any]:
    found = [json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))]
    assert found
    return found


def metric_names(expr: str) -> set[str]:
    """Metric names of a PromQL expression (label matchers and strings removed)."""
    bare = re.sub(r"\{[^}]*\}", "", re.sub(r'"[^"]*"', "", expr))
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    tokens = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()", bare))
    return {t for t in tokens if t.startswith("touchstream_") or t in PROMETHEUS_BUILTIN}


def grafana_sql(sql: str) -> str:
    """Grafana ClickHouse macros and dashboard variables replaced by plain SQL."""
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", r"(\1 >= now() - INTERVAL 7 DAY AND \1 <= now())", sql)
    sql = re.sub(r"\$__timeInterval\(([^)]+)\)", r"toStartOfInterval(\1, INTERVAL 60 SECOND)", sql)
    sql = sql.replace("${model}", "first").replace("$model", "first")
    assert "$" not in sql, f"unhandled Grafana macro in {sql}"
    return sql


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    tmp = tmp_path_factory.mktemp("grafana")
    up = UpProcess(tmp / "home", tmp / "up.log").start()
    try:
        yield up
    finally:
        up.close()
        if up.running():
            up.kill_tree()


def exported(up: UpProcess) -> set[str]:
    urls = [v for k, v in up.endpoints.items() if k.startswith("metrics_")]
    urls.append(up.endpoints["collector"] + "/metrics")
    names: set[str] = set()
    for url in urls:
        text = httpx.get(url, timeout=10).text
        names.update(re.findall(r"^# (?:HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)", text, re.M))
        names.update(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text, re.M))
    return names


def test_every_promql_metric_is_exported_by_the_stack(stack: UpProcess) -> None:
    known = exported(stack) | PROMETHEUS_BUILTIN
    exprs = [e for d in dashboards() for e in strings(d, {"expr"})]
    variables = [q for d in dashboards() for q in strings(d, {"query"}) if "label_values(" in q]
    assert exprs
    for expr in exprs + variables:
        used = metric_names(expr.replace("label_values(", "("))
        assert used, f"no metric found in {expr!r}"
        assert used <= known, f"{expr!r} uses {used - known}, not on any /metrics of the stack"


def test_every_sql_panel_runs_on_the_stack_clickhouse(stack: UpProcess) -> None:
    queries = [q for d in dashboards() for q in strings(d, {"rawSql"})]
    assert queries
    client = stack.clickhouse()
    failures: list[str] = []
    for q in queries:
        try:
            client.execute(f"SELECT * FROM ({grafana_sql(q)}) LIMIT 0")  # noqa: S608
        except Exception as exc:  # noqa: BLE001 - collect every broken panel, not only the first
            failures.append(f"{q}\n  -> {str(exc).splitlines()[0][:300]}")
    assert not failures, "\n".join(failures)
