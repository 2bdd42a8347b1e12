"""Deterministic event ids: webhook retries and re-sent rows map to the same uuid5, so never count twice."""

from __future__ import annotations

import uuid

__all__ = ["NAMESPACE", "stable_id"]

# Fixed forever: changing it would give every re-sent CRM change or spend row a new identity.
NAMESPACE = uuid.UUID("6f1d3c52-7a8e-4b0e-9d7c-2a5e0c1b9f43")


def stable_id(*parts: object) -> str:
    """uuid5 over the ``|``-joined parts.

    An object or array where an id part belongs makes its event invalid anyway; it counts by its
    type name, since ``str()`` of a caller's deeply nested JSON would exhaust the recursion limit.
    """
    return str(uuid.uuid5(NAMESPACE, "|".join(_part(p) for p in parts)))


def _part(p: object) -> str:
    if p is None:
        return ""
    return type(p).__name__ if isinstance(p, dict | list) else str(p)
