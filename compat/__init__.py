"""Compatibility intake: Segment / RudderStack HTTP API and Snowplow tracker protocol mapped to our events."""

from __future__ import annotations

from compat.mapped import Mapped
from compat.names import TrackRule, TrackTable, load_track_table

__all__ = ["Mapped", "TrackRule", "TrackTable", "load_track_table"]
