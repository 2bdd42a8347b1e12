"""The settings analytics.js fetches from Segment's CDN, served by the collector: no other host needed."""

from __future__ import annotations

from typing import Any

__all__ = ["segment_settings"]


def segment_settings(write_key: str, *, api_host: str, protocol: str) -> dict[str, Any]:
    """``/v1/projects/{writeKey}/settings``: only the Segment.io destination, pointed at ``api_host``.

    No device-mode integrations, no remote plugins or middleware to download, and metrics off
    (``sampleRate`` 0), so analytics.js makes no request to any host but the collector.
    """
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": api_host,
                "protocol": protocol,
                "unbundledIntegrations": [],
                "addBundledMetadata": False,
                "maybeBundledConfigIds": {},
            }
        },
        "plan": {"track": {"__default": {"enabled": True, "integrations": {}}}},
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }
