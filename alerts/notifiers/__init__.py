"""Where alerts go: Slack-compatible and generic webhooks, the log, the ``alerts`` table."""

from alerts.notifiers.base import Dispatcher, Notifier, post_json

__all__ = ["Dispatcher", "Notifier", "post_json"]
