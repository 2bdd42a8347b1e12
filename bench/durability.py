"""Durable versus memory embedded broker, in the same run: what "acknowledged means kept" costs.

For each storage the real collector (uvicorn, ``--workers``) runs against its own embedded broker:
``/v1/batch`` events/s under ``wrk`` (as ``bench.collector``), then the pixel's ack latency at a fixed
open-loop rate (default 1,000 req/s; every request timed from its scheduled send, so a stall counts).
Targets (issue: durable embedded mode): durable batch intake >= 0.5x memory; durable pixel p99 < 50 ms.
Run: ``python -m bench.durability [--workers N] [--seconds S] [--rate R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.collector import SITE_KEY, _batch_body, _serve, _wrk, batch_script
from embedded.kafka import BrokerStorage, EmbeddedKafka
from schemas import topics
from streams.admin import ensure_topics


async def _open_loop(url: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Latencies (s) of ``rate`` req/s for ``seconds``, each measured from its scheduled start."""
    latencies: list[float] = []
    errors = 0
    # aiohttp, not httpx: httpx's pool scans every queued request per send and cannot keep 1k req/s.
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as client:

        async def one(i: int, due: float) -> None:
            nonlocal errors
            try:
                async with client.get(f"{url}&aid=bench-{i % 500}") as reply:
                    await reply.read()
                    errors += reply.status != 200
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
            latencies.append(time.perf_counter() - due)

        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
    return latencies, errors


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1]


def _measure(home: Path, storage: BrokerStorage, args: argparse.Namespace) -> tuple[float, float, float]:
    """(batch events/s, pixel p50 ms, pixel p99 ms) against a broker with ``storage``."""
    with EmbeddedKafka(home / storage, storage=storage) as broker:
        ensure_topics(broker.bootstrap, 4, [topics.EVENTS])
        with _serve(home, broker.bootstrap, args.workers) as base:
            post = batch_script(home, _batch_body())
            batch, _cpu = _wrk(f"{base}/v1/batch", args.seconds, post, args.connections)
            gif = f"{base}/p.gif?k={SITE_KEY}&url=https%3A%2F%2Fshop.example%2F%3Futm_source%3Dg"
            latencies, errors = asyncio.run(_open_loop(gif, args.rate, args.seconds))
            if errors:
                print(f"  warning: {errors} pixel requests failed ({storage})")
    p50, p99 = _quantile(latencies, 0.5) * 1e3, _quantile(latencies, 0.99) * 1e3
    print(f"  {storage:8s} /v1/batch {batch * 100:,.0f} events/s; /p.gif at {args.rate:,.0f} req/s: "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip
    return batch * 100, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=1000.0, help="pixel requests per second (open loop)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench.durability needs wrk (apt-get install wrk)")
    home = Path(tempfile.mkdtemp(prefix="ts-bench-durability-"))
    print(f"durability bench: {args.workers} collector worker(s), wrk -c{args.connections}, {args.seconds}s "
          "per figure, 2 shared cores (broker, store, load generator alike; noisy)")  # fmt: skip
    try:
        memory = _measure(home, "memory", args)
        durable = _measure(home, "durable", args)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    ratio, p99 = durable[0] / memory[0], durable[2]
    intake_verdict = "met" if ratio >= 0.5 else "MISSED"
    p99_verdict = "met" if p99 < 50 else "MISSED"
    print(f"  durable / memory batch intake: {ratio:.2f} (target >= 0.50 -> {intake_verdict}); "
          f"durable pixel p99 {p99:.1f} ms (target < 50 ms -> {p99_verdict})")  # fmt: skip


if __name__ == "__main__":
    main()
