"""Errors of the stream processors.

StreamError
├── RulesError          the channel rules file cannot be used (also a ConfigError)
└── TopicSetupError     the broker did not create the topics in time
"""

from __future__ import annotations

from schemas.errors import ConfigError, TouchstreamError

__all__ = ["RulesError", "StreamError", "TopicSetupError"]


class StreamError(TouchstreamError):
    """Base of the errors the stream workers raise on purpose."""


class RulesError(StreamError, ConfigError):
    """The channel classification rules (YAML) are malformed; the message names the entry."""


class TopicSetupError(StreamError):
    """The broker kept timing out creating or listing topics; the message names the broker."""
