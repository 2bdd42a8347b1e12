"""Slack and generic webhooks against a real local HTTP server: payloads, retry after 500, dedup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from alert_support import Receiver, run_receiver

from alerts.detect import Alert, alert_id
from alerts.errors import DeliveryError
from alerts.notifiers.base import Dispatcher, RetryPolicy
from alerts.notifiers.slack import SlackNotifier
from alerts.notifiers.webhook import WebhookNotifier

FAST = RetryPolicy(attempts=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=2.0)
FIRED = datetime(2031, 3, 12, 14, 9, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from run_receiver()


def make_alert(state: str = "firing") -> Alert:
    return Alert(
        alert_id=alert_id("intake_drop", "source=web-pixel", FIRED, state),
        ts=FIRED,
        kind="intake_drop",
        subject="source=web-pixel",
        state=state,  # type: ignore[arg-type]
        value=0.0,
        baseline=6.0,
        message="[FIRING] intake source=web-pixel -100% vs the same hour in earlier weeks",
        fired_at=FIRED,
        labels=(("dimension", "source"), ("value", "web-pixel")),
    )


def test_slack_payload_and_retry_after_500(receiver: Receiver) -> None:
    receiver.statuses = [500]
    with httpx.Client() as http:
        failures = Dispatcher([SlackNotifier(receiver.url, http, FAST)]).deliver(make_alert())
    assert failures == []
    assert len(receiver.requests) == 2  # the 500, then the retry that succeeded
    first, second = receiver.bodies()
    assert first == second
    assert isinstance(first, dict)
    assert first["text"].startswith(":rotating_light: [FIRING] intake source=web-pixel")
    attachment = first["attachments"][0]
    assert attachment["color"] == "#d93f0b"
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["kind"] == "intake_drop" and fields["subject"] == "source=web-pixel"
    assert fields["baseline"] == "6.00" and fields["dimension"] == "source"


def test_generic_webhook_payload_idempotency_key_and_dedup(receiver: Receiver) -> None:
    alert = make_alert()
    resolved = make_alert("resolved")
    with httpx.Client() as http:
        dispatcher = Dispatcher([WebhookNotifier(receiver.url, http, FAST)])
        dispatcher.deliver(alert)
        dispatcher.deliver(alert)  # a repeat: dropped
        dispatcher.deliver(resolved)
    assert len(receiver.requests) == 2
    (_, headers, body), (_, _, body2) = receiver.requests
    assert headers["idempotency-key"] == alert.alert_id
    assert body == {
        "alert_id": alert.alert_id,
        "ts": "2031-03-12T14:09:00Z",
        "kind": "intake_drop",
        "subject": "source=web-pixel",
        "state": "firing",
        "value": 0.0,
        "baseline": 6.0,
        "message": alert.message,
        "fired_at": "2031-03-12T14:09:00Z",
        "labels": {"dimension": "source", "value": "web-pixel"},
    }
    assert isinstance(body2, dict) and body2["state"] == "resolved" and body2["alert_id"] != alert.alert_id


def test_gives_up_after_retries_and_other_targets_still_get_it(receiver: Receiver) -> None:
    receiver.statuses = [503, 503, 503]
    with httpx.Client() as http:
        dead = WebhookNotifier("http://127.0.0.1:9/unreachable", http, FAST, name="dead")
        failing = SlackNotifier(receiver.url, http, FAST)
        ok = WebhookNotifier(receiver.url, http, FAST)
        failures = Dispatcher([dead, failing, ok]).deliver(make_alert())
    assert [(f.target, f.attempts) for f in failures] == [("dead", 3), ("slack", 3)]
    assert all(isinstance(f, DeliveryError) for f in failures)
    assert len(receiver.requests) == 4  # three 503s to slack, then the generic webhook
