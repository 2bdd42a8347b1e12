"""post_json's retry policy, with httpx's in-process transport and a recorded sleep."""

from __future__ import annotations

import httpx
import pytest

from alerts.errors import DeliveryError
from alerts.notifiers.base import RetryPolicy, post_json


def client(statuses: list[int], headers: dict[str, str] | None = None) -> tuple[httpx.Client, list[int]]:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = statuses[len(seen)]
        seen.append(status)
        return httpx.Response(status, headers=headers or {})

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def test_backoff_doubles_and_honours_retry_after() -> None:
    http, seen = client([503, 429, 200], {"retry-after": "3"})
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=4, backoff_s=0.5, max_backoff_s=10)
    post_json(http, "http://hook", {"a": 1}, target="t", policy=policy, sleep=sleeps.append)
    assert seen == [503, 429, 200]
    assert sleeps == [3.0, 3.0]  # Retry-After beats the 0.5 s and 1 s backoff


def test_client_errors_are_not_retried() -> None:
    http, seen = client([400])
    with pytest.raises(DeliveryError, match="after 1 attempt"):
        post_json(http, "http://hook", {}, target="t", sleep=lambda _s: None)
    assert seen == [400]


def test_gives_up_after_the_attempts() -> None:
    http, seen = client([500, 500, 500])
    sleeps: list[float] = []
    with pytest.raises(DeliveryError) as err:
        post_json(
            http,
            "http://hook",
            {},
            target="t",
            policy=RetryPolicy(attempts=3, backoff_s=1),
            sleep=sleeps.append,
        )
    assert (err.value.attempts, sleeps) == (3, [1, 2])
