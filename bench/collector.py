"""Collector throughput: /v1/batch events/s and /p.gif req/s, each beside a no-op route on the same server.

Server: uvicorn (httptools + uvloop) running the real collector app against a private embedded
broker, with WORKERS processes; load: ``wrk`` (Debian) as a separate process on loopback. This
machine has 2 cores shared with the broker and the load generator (and other engineers): noisy.
The pixel runs twice: answering after the broker ack (default) and with TOUCHSTREAM_PIXEL_ACK=async.
Run: ``python -m bench.collector [--workers N] [--seconds S] [--compression gzip|none|lz4]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from embedded.kafka import EmbeddedKafka, free_port
from embedded.process import spawn_child, stop_child
from schemas import jsonio, topics
from streams.admin import ensure_topics

WRITE_KEY = "bench-write-key"
SITE_KEY = "bench-site"


async def _noop(request: Request) -> Response:
    return Response(b"ok", 200, media_type="text/plain")


def bench_app() -> Starlette:
    """The collector app plus ``/noop``: the trivial baseline on the same server and process."""
    from cli.collector import asgi_app

    app = asgi_app()
    app.router.routes.insert(0, Route("/noop", _noop, methods=["GET", "POST"]))
    return app


def _batch_body(n: int = 100) -> bytes:
    ts = int(time.time() * 1000)
    events = [
        {"event_id": str(uuid.uuid4()), "type": "page_view", "ts": ts, "anonymous_id": f"anon-{i % 37}",
         "context": {"url": f"https://shop.example/p/{i}", "title": "Product"},
         "utm": {"source": "google", "medium": "cpc", "campaign": "brand"}}
        for i in range(n)
    ]  # fmt: skip
    return jsonio.dumps(events)


def batch_script(home: Path, body: bytes) -> Path:
    """A wrk script POSTing ``body`` to /v1/batch with the bench's write key."""
    (home / "body.json").write_bytes(body)
    script = home / "batch.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.headers["X-Write-Key"] = "{WRITE_KEY}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{home / "body.json"}", "rb"); wrk.body = f:read("*a"); f:close()\n'
    )
    return script


def _cpu_s(root: int) -> float:
    """User+system CPU seconds of ``root`` and its child processes (the uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended while we looked
        pid = int(stat.parent.name)
        if pid == root or int(fields[1]) == root:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


_SERVER: list[int] = []  # pid of the server under test, for CPU accounting


def _wrk(url: str, seconds: int, script: Path | None, connections: int) -> tuple[float, float]:
    """(requests/s, server CPU microseconds per request) - the second is far less noisy here."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    cpu = _cpu_s(_SERVER[-1])
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    cpu = _cpu_s(_SERVER[-1]) - cpu
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        print(f"  warning: {non2xx.group(1)} non-2xx answers from {url}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    assert match and count, out
    return float(match.group(1)), cpu * 1e6 / max(1, int(count.group(1)))


@contextmanager
def _serve(home: Path, bootstrap: str, workers: int, **settings: str) -> Iterator[str]:
    """The bench app under uvicorn with ``workers`` processes; yields its base URL once healthy."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TOUCHSTREAM_KAFKA_BOOTSTRAP": bootstrap,
           "TOUCHSTREAM_WRITE_KEYS": WRITE_KEY, "TOUCHSTREAM_SITE_KEYS": SITE_KEY,
           "TOUCHSTREAM_RATE_LIMIT_PER_KEY": "0", "TOUCHSTREAM_EMBEDDED_BROKER": "1",
           **{f"TOUCHSTREAM_{k.upper()}": v for k, v in settings.items()}}  # fmt: skip
    env.pop("TOUCHSTREAM_METRICS_PORT", None)
    server = spawn_child(
        [sys.executable, "-m", "uvicorn", "bench.collector:bench_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
         "--no-access-log", "--no-proxy-headers", "--log-level", "warning"],
        log_file=home / "collector.log", env=env,
    )  # fmt: skip
    _SERVER.append(server.pid)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        stop_child(server, grace_s=10)


def _pixel(base: str, seconds: int, connections: int, mode: str) -> None:
    noop_get, noop_cpu = _wrk(f"{base}/noop", seconds, None, connections)
    gif_url = f"{base}/p.gif?k={SITE_KEY}&url=https%3A%2F%2Fshop.example%2F%3Futm_source%3Dg&aid=anon-1"
    pixel, pixel_cpu = _wrk(gif_url, seconds, None, connections)
    ratio = pixel / noop_get
    print(f"  /p.gif (ack={mode}): {pixel:,.0f} req/s vs no-op GET {noop_get:,.0f} req/s; ratio {ratio:.2f} "
          f"(target >= 0.60 -> {'met' if ratio >= 0.6 else 'MISSED'}); server CPU/request "
          f"{pixel_cpu:.0f} us vs {noop_cpu:.0f} us -> CPU ratio {noop_cpu / pixel_cpu:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--compression", default="gzip", help="TOUCHSTREAM_KAFKA_COMPRESSION of the server")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench.collector needs wrk (apt-get install wrk)")
    home = Path(tempfile.mkdtemp(prefix="ts-bench-collector-"))
    with EmbeddedKafka(home) as broker:
        ensure_topics(broker.bootstrap, 4, [topics.EVENTS])
        print(f"collector bench: {args.workers} uvicorn worker process(es), wrk -c{args.connections}, "
              f"{args.seconds}s per run, compression {args.compression}, 2 shared cores "
              "(broker, wrk alike; noisy)")  # fmt: skip
        with _serve(home, broker.bootstrap, args.workers, kafka_compression=args.compression) as base:
            body = _batch_body()
            headers = {"X-Write-Key": WRITE_KEY, "Content-Type": "application/json"}
            check = httpx.post(f"{base}/v1/batch", content=body, timeout=30, headers=headers)
            assert check.status_code == 200 and check.json()["accepted"] == 100, check.text
            post = batch_script(home, body)
            noop = home / "noop.lua"
            noop.write_text('wrk.method = "POST"\nwrk.body = "[]"\n')
            noop_post, noop_cpu = _wrk(f"{base}/noop", args.seconds, noop, args.connections)
            batch, batch_cpu = _wrk(f"{base}/v1/batch", args.seconds, post, args.connections)
            print(f"  /v1/batch (100 events): {batch * 100:,.0f} events/s ({batch:,.0f} req/s); "
                  f"no-op POST {noop_post:,.0f} req/s; batch req/s ratio {batch / noop_post:.2f}; "
                  f"target >= 50,000 events/s -> {'met' if batch * 100 >= 50_000 else 'MISSED'}; "
                  f"server CPU {batch_cpu / 100:.1f} us/event, no-op {noop_cpu:.0f} us/request")  # fmt: skip
            _pixel(base, args.seconds, args.connections, "broker")
        env = {"kafka_compression": args.compression, "pixel_ack": "async"}
        with _serve(home, broker.bootstrap, args.workers, **env) as base:
            _pixel(base, args.seconds, args.connections, "async")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
