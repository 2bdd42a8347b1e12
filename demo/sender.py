"""Send collector requests at a chosen rate, retrying 429/503 as the collector asks (Retry-After)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from demo.errors import CollectorRejectedError, CollectorUnavailableError
from demo.wire import Request
from schemas import jsonio

__all__ = ["SendStats", "send", "send_blocking"]

_RETRYABLE = frozenset({429, 502, 503, 504})


@dataclass
class SendStats:
    """What was sent; ``accepted_ids`` are the accepted events whose ids the collector keeps as sent."""

    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    retries: int = 0
    accepted_by_type: dict[str, int] = field(default_factory=dict)
    accepted_ids: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    done: bool = False

    def rate(self) -> float:
        return self.accepted / max(1e-9, time.monotonic() - self.started)


def _record(stats: SendStats, request: Request, response: httpx.Response) -> None:
    rejected: set[int] = set()
    if response.headers.get("content-type", "").startswith("application/json"):
        body = jsonio.loads(response.content)
        if isinstance(body, dict):
            rejected = {int(r["index"]) for r in body.get("rejected", []) if isinstance(r, dict)}
            for r in body.get("rejected", [])[:3]:
                if len(stats.errors) < 20:
                    stats.errors.append(f"{request.path}: {r}")
    for index, (kind, event_id) in enumerate(
        zip(request.types, request.event_ids or ("",) * 99, strict=False)
    ):
        # Forms answer per submission: both events or neither, so an index there means the whole pair.
        if index in rejected:
            stats.rejected += 1
            continue
        stats.accepted += 1
        stats.accepted_by_type[kind] = stats.accepted_by_type.get(kind, 0) + 1
        if event_id:
            stats.accepted_ids.add(event_id)


async def _one(client: httpx.AsyncClient, request: Request, stats: SendStats, max_wait_s: float) -> None:
    deadline = time.monotonic() + max_wait_s
    while True:
        try:
            response = await client.request(
                request.method,
                request.path,
                params=request.params,
                content=request.body,
                headers=request.headers,
            )
        except httpx.TransportError as exc:
            if time.monotonic() > deadline:
                raise CollectorUnavailableError(f"{request.path}: {exc!r}") from exc
            stats.retries += 1
            await asyncio.sleep(0.5)
            continue
        if response.status_code in _RETRYABLE and time.monotonic() < deadline:
            stats.retries += 1
            await asyncio.sleep(min(10.0, float(response.headers.get("retry-after", "1") or 1)))
            continue
        stats.requests += 1
        if response.status_code >= 500:
            raise CollectorUnavailableError(
                f"{request.path} answered {response.status_code} for {max_wait_s:.0f}s"
            )
        if response.status_code >= 400 and response.status_code != 422:
            raise CollectorRejectedError(request.path, response.status_code, response.text)
        if response.status_code == 422:
            stats.rejected += request.events
            if len(stats.errors) < 20:
                stats.errors.append(f"{request.path}: {response.text[:300]}")
            return
        _record(stats, request, response)
        return


async def send(
    base_url: str,
    requests: Iterable[Request],
    rate: float = 200.0,
    concurrency: int = 16,
    stats: SendStats | None = None,
    stop: threading.Event | None = None,
    max_wait_s: float = 120.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SendStats:
    """Send ``requests`` in order, pacing to ``rate`` events/s (0 = as fast as possible).

    ``transport`` lets tests drive an ASGI app in-process; ``stop`` ends sending early.
    """
    stats = stats or SendStats()
    slots = asyncio.Semaphore(concurrency)
    sent_events = 0
    started = time.monotonic()
    tasks: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []

    async def run(request: Request) -> None:
        try:
            await _one(client, request, stats, max_wait_s)
        except (CollectorUnavailableError, CollectorRejectedError) as exc:
            failures.append(exc)
        finally:
            slots.release()

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=30.0, limits=limits, transport=transport
    ) as client:
        for request in requests:
            if (stop is not None and stop.is_set()) or failures:
                break
            if rate > 0:
                ahead = sent_events / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await slots.acquire()
            task = asyncio.create_task(run(request))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent_events += request.events
        if tasks:
            await asyncio.gather(*tasks)
    stats.done = True
    if failures:
        raise failures[0]
    return stats


def send_blocking(base_url: str, requests: Iterable[Request], **kwargs: object) -> SendStats:
    """``send`` from synchronous code (CLI, tests, a background thread)."""
    return asyncio.run(send(base_url, requests, **kwargs))  # type: ignore[arg-type]
