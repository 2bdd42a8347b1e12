"""Write simulated events as JSON lines, for benchmarks and for producing straight to Kafka."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from demo.model import SimEvent
from schemas import jsonio

__all__ = ["write_jsonl"]


def write_jsonl(events: Iterable[SimEvent], path: Path) -> int:
    """One contract event per line, in time order; returns how many were written."""
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for e in events:
            out.write(jsonio.dumps(e.event) + b"\n")
            count += 1
    return count
