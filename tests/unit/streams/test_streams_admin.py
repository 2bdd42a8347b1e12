"""ensure_topics on a slow or absent broker: timed-out attempts are retried, then a clear error."""

from __future__ import annotations

import pytest
from kafka.errors import RequestTimedOutError

from streams import admin
from streams.errors import TopicSetupError


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin.time, "sleep", lambda _s: None)


def test_timeouts_are_retried_until_the_topics_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def slow(bootstrap: str, partitions: int, names: list[str]) -> list[str]:
        calls.append(names)
        if len(calls) < 3:
            raise RequestTimedOutError("Request timed out after 29999 ms")
        return names[:1]

    monkeypatch.setattr(admin, "_ensure", slow)
    assert admin.ensure_topics("b:9092", 4, ["t1", "t2"]) == ["t1"]
    assert calls == [["t1", "t2"]] * 3


def test_a_broker_that_never_answers_in_time_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000, 50))
    monkeypatch.setattr(admin.time, "monotonic", lambda: float(next(clock)))

    def never(bootstrap: str, partitions: int, names: list[str]) -> list[str]:
        raise RequestTimedOutError("Request timed out after 29999 ms")

    monkeypatch.setattr(admin, "_ensure", never)
    with pytest.raises(TopicSetupError, match=r"b:9092 did not create .*RequestTimedOutError.* not full"):
        admin.ensure_topics("b:9092", 4, ["t1"], deadline_s=120)
