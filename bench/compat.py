"""Segment-shaped batches vs native batches: events/s through ``/v1/batch`` on the same server, same run.

The same 100 page views go in either as the native JSON array (``X-Write-Key``) or as the Segment
HTTP API body ``{"batch": [...], "sentAt": ...}`` with HTTP Basic auth, shaped like what
segment-analytics-python sends (library context, messageId, ISO timestamps). Server, broker and load
generator are :mod:`bench.collector`'s (uvicorn workers, private embedded broker, ``wrk`` in its own
process); the two shapes alternate for ``--runs`` rounds and the medians are compared. 2 shared
cores (broker, wrk and other engineers alike): single runs are noisy, hence the rounds.
Run: ``python -m bench.compat [--runs N] [--workers N] [--seconds S]``. Target: Segment >= 0.80 x native.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

# The collector bench's server and load generator, so both benches measure the same thing.
from bench.collector import WRITE_KEY, _batch_body, _serve, _wrk
from embedded.kafka import EmbeddedKafka
from schemas import jsonio, topics
from streams.admin import ensure_topics

__all__ = ["main", "native_body", "segment_body"]

BATCH = 100
TARGET = 0.80
_CAMPAIGN_KEYS = {
    "campaign": "name",
    "source": "source",
    "medium": "medium",
    "content": "content",
    "term": "term",
}


def native_body(n: int = BATCH) -> bytes:
    """The native contract array exactly as :mod:`bench.collector` sends it (the baseline)."""
    return _batch_body(n)


def segment_body(native: bytes) -> bytes:
    """The same events as segment-analytics-python batches ``page`` calls (UTM in context.campaign)."""
    library = {"name": "analytics-python", "version": "2.4.0"}
    batch: list[dict[str, Any]] = []
    for event in jsonio.loads(native):
        ts = datetime.fromtimestamp(event["ts"] / 1000, UTC).isoformat(timespec="milliseconds")
        campaign = {_CAMPAIGN_KEYS[k]: v for k, v in event.get("utm", {}).items()}
        batch.append(
            {"type": "page", "messageId": event["event_id"], "anonymousId": event["anonymous_id"],
             "timestamp": ts, "name": event["context"]["title"], "properties": event["context"],
             "context": {"library": library, "campaign": campaign}, "integrations": {}}
        )  # fmt: skip
    return jsonio.dumps({"batch": batch, "sentAt": datetime.now(UTC).isoformat(timespec="milliseconds")})


def _script(home: Path, name: str, body: bytes, headers: dict[str, str]) -> Path:
    """A wrk Lua script POSTing ``body`` (read from a file: wrk has no body option)."""
    (home / f"{name}.json").write_bytes(body)
    lines = ['wrk.method = "POST"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    lines.append(f'local f = io.open("{home / name}.json", "rb"); wrk.body = f:read("*a"); f:close()')
    script = home / f"{name}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def _check(base: str, body: bytes, headers: dict[str, str]) -> None:
    """One request before timing: both shapes must be accepted whole, or the figures mean nothing."""
    answer = httpx.post(f"{base}/v1/batch", content=body, headers=headers, timeout=30)
    assert answer.status_code == 200 and answer.json()["accepted"] == BATCH, answer.text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--compression", default="gzip", help="TOUCHSTREAM_KAFKA_COMPRESSION of the server")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench.compat needs wrk (apt-get install wrk)")
    home = Path(tempfile.mkdtemp(prefix="ts-bench-compat-"))
    basic = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    baseline = native_body()
    shapes = {
        "native": (baseline, {"X-Write-Key": WRITE_KEY, "Content-Type": "application/json"}),
        "segment": (segment_body(baseline), {"Authorization": basic, "Content-Type": "application/json"}),
    }
    with EmbeddedKafka(home) as broker:
        ensure_topics(broker.bootstrap, 4, [topics.EVENTS])
        print(f"compat bench: /v1/batch of {BATCH}, {args.workers} uvicorn worker(s), "
              f"wrk -c{args.connections}, {args.seconds}s x {args.runs} rounds per shape, alternating; "
              f"compression {args.compression}; 2 shared cores (broker, wrk alike; noisy)")  # fmt: skip
        with _serve(home, broker.bootstrap, args.workers, kafka_compression=args.compression) as base:
            scripts = {}
            for name, (body, headers) in shapes.items():
                _check(base, body, headers)
                scripts[name] = _script(home, name, body, headers)
            rates: dict[str, list[float]] = {name: [] for name in shapes}
            cpu: dict[str, list[float]] = {name: [] for name in shapes}
            for round_ in range(1, args.runs + 1):
                for name, script in scripts.items():
                    rps, cpu_us = _wrk(f"{base}/v1/batch", args.seconds, script, args.connections)
                    rates[name].append(rps * BATCH)
                    cpu[name].append(cpu_us / BATCH)
                ratio = rates["segment"][-1] / rates["native"][-1]
                print(f"  round {round_}: native {rates['native'][-1]:,.0f} events/s, "
                      f"Segment {rates['segment'][-1]:,.0f} events/s, ratio {ratio:.2f}")  # fmt: skip
                time.sleep(0.5)
    shutil.rmtree(home, ignore_errors=True)
    native, seg = statistics.median(rates["native"]), statistics.median(rates["segment"])
    native_cpu, seg_cpu = statistics.median(cpu["native"]), statistics.median(cpu["segment"])
    ratio = seg / native
    print(f"  median: Segment {seg:,.0f} events/s vs native {native:,.0f} events/s; ratio {ratio:.2f} "
          f"(target >= {TARGET:.2f} -> {'met' if ratio >= TARGET else 'MISSED'}); server CPU/event "
          f"{seg_cpu:.1f} us vs {native_cpu:.1f} us -> CPU ratio {native_cpu / seg_cpu:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
