"""What `touchstream up` says about the embedded broker's log: kept, new (re-seeded) or in memory."""

from __future__ import annotations

from pathlib import Path

from cli.stack import Stack
from embedded.kafka import EmbeddedKafka
from schemas.settings import Settings


def _note(tmp_path: Path, kafka: EmbeddedKafka | None, rebuilt: int = 0) -> str | None:
    stack = Stack(Settings(home=tmp_path), kafka=kafka)
    stack.rebuilt_entities = rebuilt
    return stack.broker_note()


def test_the_note_says_whether_the_log_was_kept(tmp_path: Path) -> None:
    kept = _note(tmp_path, EmbeddedKafka(tmp_path, storage="durable", resumed=True))
    assert kept == f"broker log: resumed from the kept log in {tmp_path / 'kafka' / 's3'}"
    new = _note(tmp_path, EmbeddedKafka(tmp_path, storage="durable"), rebuilt=7)
    assert new is not None and "new log" in new and "re-seeded from ClickHouse (7 messages)" in new
    memory = _note(tmp_path, EmbeddedKafka(tmp_path, storage="memory"), rebuilt=3)
    assert memory is not None and "may lose acknowledged events" in memory and "(3 messages)" in memory
    assert _note(tmp_path, None) is None  # an external broker
