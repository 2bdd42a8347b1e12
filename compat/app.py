"""The collector app ``touchstream collector`` serves: the native routes plus the foreign protocols.

The dependency runs one way, compat on top of the collector: ``collector`` knows nothing of
Segment or Snowplow and exposes :data:`collector.app.Mount` for what builds on it.
"""

from __future__ import annotations

from starlette.applications import Starlette

from collector import EventProducer
from collector import create_app as create_native_app
from compat.routes import mount
from schemas.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, producer: EventProducer | None = None) -> Starlette:
    """The full collector app; without ``producer`` it builds one from settings and owns it."""
    return create_native_app(settings, producer, mounts=(mount,))
