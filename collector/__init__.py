"""The collector: Touchstream's HTTP front door, from pixel, JS tracker and webhooks into Kafka."""

from __future__ import annotations

from collector.app import create_app
from collector.producer import EventProducer

__all__ = ["EventProducer", "create_app"]
