"""Wait until a started stack is really ready: collector healthy, workers and sinks joined and restored.

``touchstream up`` announces the stack (table, ``endpoints.json``) only after this returns, so an event
sent the moment ``endpoints.json`` appears meets workers that already own their partitions.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping

from prometheus_client.parser import text_string_to_metric_families

from embedded.errors import EmbeddedServiceError

__all__ = ["StackNotReadyError", "scrape", "wait_ready"]

# Which gauge says a component is ready; components not listed are ready once running.
_READY_GAUGE = {"worker": "touchstream_stream_ready", "sink": "touchstream_sink_ready"}


class StackNotReadyError(EmbeddedServiceError):
    """A component died or did not become ready in time; the message names it and its log."""


def _get(url: str, timeout_s: float = 2.0) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:  # noqa: S310 - our own http URL
            return bytes(reply.read())
    except (urllib.error.URLError, OSError):
        return None


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of a Prometheus endpoint as ``{(name, labels): value}``; empty if unreachable."""
    body = _get(url)
    if body is None:
        return {}
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def _restore_note(samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float]) -> str:
    totals = {
        dict(k[1])["table"]: v for k, v in samples.items() if k[0] == "touchstream_stream_restore_total"
    }
    left = {
        dict(k[1])["table"]: v for k, v in samples.items() if k[0] == "touchstream_stream_restore_remaining"
    }
    parts = [f"{t} {int(totals[t] - left.get(t, 0))}/{int(totals[t])}" for t in sorted(totals) if totals[t]]
    return f"restoring {', '.join(parts)}" if parts else "joining its group"


def wait_ready(
    procs: Mapping[str, subprocess.Popen[bytes]],
    endpoints: Mapping[str, str],
    timeout_s: float,
    progress: Callable[[str], None] = lambda _msg: None,
    logs_hint: str = "",
) -> None:
    """Block until every component is ready; raise :class:`StackNotReadyError` if one dies or times out."""
    deadline = time.monotonic() + timeout_s
    pending = dict(procs)
    while pending:
        waiting: list[str] = []
        for name, proc in list(pending.items()):
            if proc.poll() is not None:
                raise StackNotReadyError(f"{name} exited with {proc.returncode} while starting{logs_hint}")
            kind = name.split("-")[0]
            if kind == "collector":
                if _get(f"{endpoints['collector']}/healthz") is not None:
                    del pending[name]
                else:
                    waiting.append(f"{name}: starting")
                continue
            gauge = _READY_GAUGE.get(kind)
            metrics_url = endpoints.get(f"metrics_{name}")
            if gauge is None or metrics_url is None:
                del pending[name]
                continue
            samples = scrape(metrics_url)
            if samples.get((gauge, ())) == 1.0:
                del pending[name]
            else:
                waiting.append(
                    f"{name}: {_restore_note(samples) if kind == 'worker' else 'joining its group'}"
                )
        if not pending:
            return
        progress("; ".join(waiting))
        if time.monotonic() > deadline:
            raise StackNotReadyError(
                f"not ready after {timeout_s:.0f}s ({'; '.join(waiting)}){logs_hint}; "
                "raise TOUCHSTREAM_STARTUP_TIMEOUT_S if a large state is restoring"
            )
        time.sleep(0.5)
