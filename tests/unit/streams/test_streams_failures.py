"""What a stream worker does when a batch fails: resend on retriable broker errors, else exit the process."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError, NotLeaderForPartitionError

from streams import agents
from streams.producer import OutputProducer

SENDS = [("touchstream.touchpoints", b"k", b"v")]


def _producer(monkeypatch: pytest.MonkeyPatch, failures: list[Exception]) -> list[int]:
    attempts: list[int] = []

    async def send_once(self: OutputProducer, sends: Any) -> None:
        attempts.append(len(sends))
        if failures:
            raise failures.pop(0)

    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr(OutputProducer, "_send_once", send_once)
    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    return attempts


def test_a_moved_leader_resends_the_whole_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = _producer(monkeypatch, [NotLeaderForPartitionError(), NotLeaderForPartitionError()])
    asyncio.run(OutputProducer.send_all(object.__new__(OutputProducer), SENDS))
    assert attempts == [1, 1, 1]


def test_a_non_retriable_error_is_raised_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = _producer(monkeypatch, [KafkaTimeoutError()])
    with pytest.raises(KafkaTimeoutError):
        asyncio.run(OutputProducer.send_all(object.__new__(OutputProducer), SENDS))
    assert attempts == [1]


def test_a_failed_stage_exits_the_process_unless_stopping(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr(agents.os, "_exit", exits.append)
    monkeypatch.setattr(agents.logging, "shutdown", lambda: None)  # pytest's handlers stay open
    agents._exit_unless_stopping(SimpleNamespace(should_stop=True), "journeys", RuntimeError("x"))  # type: ignore[arg-type]
    assert exits == []  # a shutdown's own errors are not a crash
    agents._exit_unless_stopping(SimpleNamespace(should_stop=False), "journeys", RuntimeError("x"))  # type: ignore[arg-type]
    assert exits == [agents.EXIT_STAGE_FAILED]
