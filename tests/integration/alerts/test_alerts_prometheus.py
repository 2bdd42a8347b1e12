"""deploy/prometheus/rules.yml in a real Prometheus and Alertmanager, scraping a real `touchstream up`.

Prometheus (Debian's `prometheus`) scrapes every metrics endpoint in the stack's endpoints.json and
evaluates the real rule expressions; Alertmanager (`prometheus-alertmanager`) posts to a webhook served
by this test. Only durations are shortened, by :func:`fast_rules`: every ``for:`` becomes a few seconds
(the expressions are byte for byte the real ones). The monitor itself gets a 1-minute intake window and
a 2 s tick (its own rules file, TOUCHSTREAM_ALERT_RULES), so a drop shows up in its gauges within a
minute. History for the intake baseline (the same minutes 1 and 2 weeks ago) is inserted into the
stack's ClickHouse, as a stack that has run for weeks would have it.

(a) intake drop: steady page views, then none -> IntakeDrop firing; traffic again -> resolved.
(b) lag spike: the stream worker SIGSTOPped while > 10,000 events arrive -> ConsumerLagHigh firing;
    SIGCONT -> it catches up -> resolved.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import yaml

from embedded.process import free_port
from schemas import jsonio
from tests.e2e.up_process import UpProcess, descendants
from tests.integration.alerts.alert_support import insert_touchpoints, touchpoint

RULES = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "rules.yml"
FOR = "5s"  # every rule's `for:` in this test

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("prometheus-alertmanager") is None,
    reason="needs Debian's prometheus and prometheus-alertmanager (make system-deps)",
)


def fast_rules(source: Path, target: Path) -> dict[str, str]:
    """Copy of the real rules with every ``for:`` set to FOR; returns {alert: expr} to prove equality."""
    doc = yaml.safe_load(source.read_text())
    exprs = {}
    for group in doc["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            rule["for"] = FOR
            exprs[rule["alert"]] = rule["expr"]
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return exprs


class Webhook:
    """Alertmanager's receiver: collects (alertname, status, labels) of every notification."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = jsonio.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook.lock:
                    for alert in body["alerts"]:
                        labels = alert["labels"]
                        hook.seen.append((labels["alertname"], alert["status"], labels))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def mark(self) -> int:
        with self.lock:
            return len(self.seen)

    def has(self, name: str, status: str, since: int, **labels: str) -> bool:
        """A notification ``name``/``status`` with ``labels`` received after :meth:`mark` gave ``since``."""
        with self.lock:
            return any(
                n == name and s == status and all(lab.get(k) == v for k, v in labels.items())
                for n, s, lab in self.seen[since:]
            )


def wait_for(what: str, probe: Callable[[], bool], timeout_s: float, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{logs()}")


@pytest.fixture
def stack(up_process: Callable[..., UpProcess], tmp_path: Path) -> Iterator[UpProcess]:
    monitor_rules = yaml.safe_load(
        (Path(__file__).resolve().parents[3] / "alerts" / "rules.yaml").read_text()
    )
    monitor_rules["intake"].update(dimensions=["type"], window_minutes=1, settle_seconds=0, for_minutes=0)
    rules_file = tmp_path / "monitor-rules.yaml"
    rules_file.write_text(yaml.safe_dump(monitor_rules))
    up = up_process(TOUCHSTREAM_ALERT_RULES=str(rules_file), TOUCHSTREAM_ALERT_INTERVAL_S="2").start()
    yield up
    up.close()


def page_view() -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "page_view",
        "ts": datetime.now(UTC).isoformat(),
        "anonymous_id": uuid.uuid4().hex,
        "context": {"url": "https://example.com/pricing"},
        "utm": {"source": "linkedin", "medium": "paid_social", "campaign": "prom"},
    }


def stream_worker(up: UpProcess) -> int:
    assert up.proc is not None
    for pid in descendants(up.proc.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"cli.main" in argv and b"worker" in argv:
            return pid
    raise AssertionError("no stream worker process under `touchstream up`")


def test_real_prometheus_and_alertmanager_page_and_resolve(stack: UpProcess, tmp_path: Path) -> None:
    started = time.monotonic()
    rules = tmp_path / "rules.yml"
    exprs = fast_rules(RULES, rules)
    real = {r["alert"]: r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    assert exprs == real  # only durations differ from deploy/prometheus/rules.yml

    # Intake baseline: 60 page views a minute in the same slot 1 and 2 weeks ago (-5 .. +5 minutes)
    now = datetime.now(UTC)
    history = [
        touchpoint(now - timedelta(weeks=w, minutes=5) + timedelta(seconds=s), source="web")
        for w in (1, 2)
        for s in range(0, 600)
    ]
    insert_touchpoints(stack.clickhouse(), history)

    hook = Webhook()
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "alertmanager.yml").write_text(
        yaml.safe_dump(
            {
                "route": {
                    "receiver": "test",
                    "group_by": ["alertname"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [
                    {"name": "test", "webhook_configs": [{"url": hook.url, "send_resolved": True}]}
                ],
            }
        )
    )
    metrics = {k.removeprefix("metrics_"): v for k, v in stack.endpoints.items() if k.startswith("metrics_")}
    metrics.setdefault("collector", stack.endpoints["collector"] + "/metrics")
    assert {"worker", "sink", "monitor"} <= set(metrics), stack.endpoints
    (tmp_path / "prometheus.yml").write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(rules)],
                "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
                "scrape_configs": [
                    {
                        "job_name": job,
                        "metrics_path": urlparse(url).path,
                        "static_configs": [{"targets": [urlparse(url).netloc]}],
                    }
                    for job, url in sorted(metrics.items())
                ],
            }
        )
    )
    am_log = (tmp_path / "alertmanager.log").open("wb")
    prom_log = (tmp_path / "prometheus.log").open("wb")
    procs = [
        subprocess.Popen(
            [
                "prometheus-alertmanager",
                f"--config.file={tmp_path / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            stdout=am_log,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                "prometheus",
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=prom_log,
            stderr=subprocess.STDOUT,
        ),
    ]

    def logs() -> str:
        tail = [f"webhook: {hook.seen}"]
        for name in ("prometheus.log", "alertmanager.log"):
            tail.append("\n".join((tmp_path / name).read_text(errors="replace").splitlines()[-15:]))
        try:
            reply = httpx.get(f"http://127.0.0.1:{prom_port}/api/v1/alerts", timeout=5)
            tail.append(f"prometheus alerts: {reply.text[:3000]}")
            reply = httpx.get(f"http://127.0.0.1:{prom_port}/api/v1/targets", timeout=5)
            health = re.findall(r'"health":"[a-z]+"', reply.text)
            tail.append(f"targets: {health}")
        except httpx.HTTPError as exc:
            tail.append(repr(exc))
        return "\n\n".join(tail) + "\n\n" + stack.tail()

    sending = threading.Event()
    stop = threading.Event()

    def traffic() -> None:  # 60 page views a minute while `sending` is set
        while not stop.is_set():
            if sending.is_set():
                stack.send([page_view() for _ in range(5)])
            stop.wait(5)

    sender = threading.Thread(target=traffic, daemon=True)
    worker = stream_worker(stack)
    try:
        sending.set()
        sender.start()

        def targets_up() -> bool:
            reply = httpx.get(f"http://127.0.0.1:{prom_port}/api/v1/targets", timeout=5).json()
            active = reply["data"]["activeTargets"]
            return len(active) == len(metrics) and all(t["health"] == "up" for t in active)

        wait_for("every metrics endpoint scraped", lambda: _quiet(targets_up), 30, logs)

        def active(name: str, **labels: str) -> bool:
            reply = httpx.get(f"http://127.0.0.1:{prom_port}/api/v1/alerts", timeout=5).json()
            return any(
                a["labels"]["alertname"] == name and all(a["labels"].get(k) == v for k, v in labels.items())
                for a in reply["data"]["alerts"]
            )

        # (b) lag spike: the stream worker frozen while 12,000 events arrive
        wait_for("no ConsumerLagHigh yet", lambda: not active("ConsumerLagHigh"), 30, logs)
        mark = hook.mark()
        os.kill(worker, signal.SIGSTOP)
        try:
            for _ in range(24):
                stack.send([page_view() for _ in range(500)])
            wait_for("ConsumerLagHigh firing", lambda: hook.has("ConsumerLagHigh", "firing", mark), 90, logs)
        finally:
            os.kill(worker, signal.SIGCONT)
        mark = hook.mark()
        wait_for("ConsumerLagHigh resolved", lambda: hook.has("ConsumerLagHigh", "resolved", mark), 60, logs)
        lag_done = time.monotonic()

        # (a) intake drop: steady traffic (and nothing firing for it), then it stops; the 1-minute
        # window empties
        page_view_type = {"dimension": "type", "value": "page_view"}
        wait_for(
            "no IntakeDrop while traffic flows", lambda: not active("IntakeDrop", **page_view_type), 90, logs
        )
        sending.clear()
        mark = hook.mark()
        wait_for(
            "IntakeDrop firing", lambda: hook.has("IntakeDrop", "firing", mark, **page_view_type), 90, logs
        )
        sending.set()
        mark = hook.mark()
        wait_for(
            "IntakeDrop resolved",
            lambda: hook.has("IntakeDrop", "resolved", mark, **page_view_type),
            90,
            logs,
        )
        print(
            f"lag spike paged and resolved in {lag_done - started:.0f} s, "
            f"intake drop in {time.monotonic() - lag_done:.0f} s"
        )
    finally:
        stop.set()
        sender.join(10)
        for proc in procs:
            proc.kill()
            proc.wait(10)
        am_log.close()
        prom_log.close()
        hook.server.shutdown()
    print(
        f"alerts paged and resolved through Prometheus + Alertmanager in {time.monotonic() - started:.0f} s"
    )


def _quiet(probe: Callable[[], bool]) -> bool:
    try:
        return probe()
    except httpx.HTTPError:
        return False
