"""Who is sending: secret write keys, public site keys from allowed origins, and per-key rate limits."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from collector.errors import RateLimitedError, RequestError

__all__ = ["Caller", "KeyRing", "TokenBuckets"]


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated sender. ``source`` is a label safe to store: never the secret itself."""

    source: str
    is_site: bool


def _label(write_key: str) -> str:
    return "write:" + hashlib.sha256(write_key.encode()).hexdigest()[:6]


class KeyRing:
    """Checks write keys in constant time and site keys against their allowed origins."""

    def __init__(self, write_keys: Iterable[str], site_keys: Iterable[str], allowed_origins: Iterable[str]):
        self._write = [(k.encode(), _label(k)) for k in write_keys if k]
        self._site = frozenset(site_keys)
        origins = {o.rstrip("/") for o in allowed_origins}
        self._any_origin = "*" in origins
        self._origins = frozenset(origins - {"*"})

    def origin_allowed(self, origin: str | None) -> bool:
        if origin is None:
            return self._any_origin
        return self._any_origin or origin.rstrip("/") in self._origins

    def write_caller(self, key: str) -> Caller | None:
        """The caller for ``key`` if it is a write key; compares against every key, in constant time."""
        given = key.encode()
        found: Caller | None = None
        for secret, label in self._write:
            if hmac.compare_digest(given, secret):
                found = Caller(label, is_site=False)
        return found

    def authenticate(
        self,
        headers: Mapping[str, str],
        site_key: str | None,
        *,
        allow_site: bool,
        origin: str | None = None,
    ) -> Caller:
        """Write key (``X-Write-Key`` or HTTP Basic user) first, else a site key when allowed.

        ``origin`` defaults to the Origin header; the pixel passes the Referer's origin instead,
        since ``<img>`` requests carry no Origin.
        """
        key = headers.get("x-write-key") or _basic_user(headers.get("authorization"))
        if key:
            caller = self.write_caller(key)
            if caller is None:
                raise RequestError(401, "unknown write key")
            return caller
        if site_key is not None and allow_site:
            if site_key not in self._site:
                raise RequestError(401, "unknown site key")
            if not self.origin_allowed(origin if origin is not None else headers.get("origin")):
                raise RequestError(403, "origin not allowed for this site key")
            return Caller(f"site:{site_key}", is_site=True)
        if allow_site:
            raise RequestError(401, "send a write key (X-Write-Key) or a site key (?k=)")
        raise RequestError(401, "send a write key (X-Write-Key header or HTTP Basic user)")


def _basic_user(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


class TokenBuckets:
    """Per-key token bucket, per process: ``rate`` requests/s with a burst of one second's worth."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def take(self, key: str, now: float | None = None) -> None:
        """Spend one token for ``key`` or raise :class:`RateLimitedError` with the wait in seconds."""
        if self.rate <= 0:
            return
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise RateLimitedError(max(1, math.ceil((1.0 - tokens) / self.rate)))
        self._buckets[key] = (tokens - 1.0, now)
