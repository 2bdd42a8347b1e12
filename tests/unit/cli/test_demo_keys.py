"""`touchstream demo` / `up --demo` sign with the configured keys, not the built-in dev keys."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from cli.demo import demo_requests
from demo import simulate
from demo.errors import DemoError
from schemas.settings import Settings

SIM = simulate(accounts=5, days=10, seed=3)


def test_every_request_carries_the_first_configured_key() -> None:
    settings = Settings(write_keys=[SecretStr("w-1"), SecretStr("w-2")], site_keys=["s-1", "s-2"])
    requests = list(demo_requests(SIM, settings))
    posts = [r for r in requests if r.method == "POST"]
    pixels = [r for r in requests if r.path == "/p.gif"]
    assert posts and pixels
    assert {r.headers["X-Write-Key"] for r in posts} == {"w-1"}
    assert {r.params["k"] for r in pixels if r.params} == {"s-1"}


def test_no_pixel_without_a_site_key_or_with_restricted_origins() -> None:
    for settings in (
        Settings(write_keys=[SecretStr("w")], site_keys=[]),
        Settings(write_keys=[SecretStr("w")], site_keys=["s"], allowed_origins=["https://www.acme.example"]),
    ):
        requests = list(demo_requests(SIM, settings))
        assert requests and not [r for r in requests if r.path == "/p.gif"]
        assert sum(len(r.types) for r in requests) >= len(SIM.events) - 1


def test_no_write_key_is_a_clear_error() -> None:
    with pytest.raises(DemoError, match="TOUCHSTREAM_WRITE_KEYS is empty"):
        demo_requests(SIM, Settings(write_keys=[]))
