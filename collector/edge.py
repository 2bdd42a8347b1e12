"""Edge enrichment: receive time, source, client IP (privacy-transformed), country, user agent."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

__all__ = ["Edge", "GeoReader", "RequestInfo", "open_geoip"]

IpPrivacy = Literal["truncate", "hash", "drop"]
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_CACHE_MAX = 65_536


class GeoReader(Protocol):
    """What we need of a GeoIP database: ``maxminddb.Reader.get`` returns the record or None."""

    def get(self, ip: str) -> Any: ...


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a Referer, the origin a browser would have sent; None if it has none."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a Referer such as "http://[::1" (unbalanced IPv6 bracket)
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def open_geoip(path: Path) -> GeoReader:
    """Open a MaxMind (GeoLite2/GeoIP2 Country or City) database."""
    import maxminddb  # imported lazily: only deployments with a database pay for it

    reader: GeoReader = maxminddb.open_database(str(path))
    return reader


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What enrichment needs from one request, computed once per request."""

    received_at: datetime
    source: str
    is_site: bool
    ip: str | None  # already privacy-transformed
    country: str | None
    user_agent: str | None


class Edge:
    """Resolves the client IP behind trusted proxies and applies the IP privacy mode."""

    def __init__(
        self,
        trusted_proxies: Iterable[str],
        ip_privacy: IpPrivacy,
        hash_secret: bytes,
        geoip: GeoReader | None = None,
    ) -> None:
        self._trusted: list[_Network] = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        self._privacy = ip_privacy
        self._secret = hash_secret
        self._geoip = geoip
        self._private: dict[str, str] = {}

    def _is_trusted(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self._trusted)

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The peer, or - only when the peer is a trusted proxy - the right-most untrusted hop."""
        if peer is None or not forwarded_for or not self._trusted or not self._is_trusted(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else peer

    def private_ip(self, ip: str | None) -> str | None:
        """Never store a raw IP: /24 or /48 network, a keyed hash, or nothing."""
        if ip is None or self._privacy == "drop":
            return None
        # Memoised: ipaddress parsing is ~10 us and the same clients come back (bounded, cleared whole).
        cached = self._private.get(ip)
        if cached is None:
            if len(self._private) >= _CACHE_MAX:
                self._private.clear()
            cached = self._private[ip] = self._transform(ip) or ""
        return cached or None

    def _transform(self, ip: str) -> str | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if self._privacy == "hash":
            # Keyed: an unkeyed hash of the 2^32 IPv4 space is reversed in minutes.
            return "h:" + hmac.new(self._secret, addr.packed, hashlib.sha256).hexdigest()[:32]
        prefix = 24 if addr.version == 4 else 48
        return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False).network_address)

    def country(self, ip: str | None) -> str | None:
        if self._geoip is None or ip is None:
            return None
        try:
            record = self._geoip.get(ip)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        country = record.get("country") or record.get("registered_country") or {}
        code = country.get("iso_code") if isinstance(country, dict) else None
        return code if isinstance(code, str) and len(code) == 2 else None

    def enrich(self, raw: dict[str, Any], info: RequestInfo) -> dict[str, Any]:
        """Stamp the collector's fields onto a decoded event dict before it is validated.

        Browsers (site keys) get IP, user agent and country from the request. Servers (write keys)
        may send the end user's own ``context.ip`` / ``user_agent``; the request's own IP and user
        agent belong to the sending server (an HTTP library's UA would flag every server-side event
        as a bot), so they are never stamped on its events. A sent IP goes through the privacy mode
        too, so a raw IP never reaches Kafka.
        """
        raw["received_at"] = info.received_at
        raw["source"] = info.source
        context = raw.get("context")
        if context is None:
            context = raw["context"] = {}
        elif not isinstance(context, dict):
            return raw  # validation names the bad field
        if info.is_site:
            context["ip"] = info.ip
            context["user_agent"] = info.user_agent
            if info.country is not None:
                context["country"] = info.country
        elif isinstance(context.get("ip"), str):
            context["ip"] = self.private_ip(context["ip"])
        return raw
