"""Deterministic event ids: webhook retries and re-sent rows map to the same uuid5, so never count twice."""

from __future__ import annotations

import uuid

__all__ = ["NAMESPACE", "stable_id"]

# Fixed forever: changing it would give every re-sent CRM change or spend row a new identity.
NAMESPACE = uuid.UUID("6f1d3c52-7a8e-4b0e-9d7c-2a5e0c1b9f43")


def stable_id(*parts: object) -> str:
    """uuid5 over the ``|``-joined parts."""
    return str(uuid.uuid5(NAMESPACE, "|".join("" if p is None else str(p) for p in parts)))
