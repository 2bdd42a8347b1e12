"""Identity guards: the rules that keep one shared laptop or one ``sales@`` address from gluing people.

Loaded once per worker from ``schemas/identity_guards.yaml`` (or ``TOUCHSTREAM_IDENTITY_GUARDS``); the
stream applies them in stage 1 (:mod:`streams.stage_enrich`) and the SQL views apply the same numbers
(``sinks/views``), so the stream's journeys and ``account_journeys`` agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from schemas.errors import ConfigError

__all__ = ["GUARDS_PATH", "GuardsError", "IdentityGuards", "load_guards"]

GUARDS_PATH = Path(__file__).with_name("identity_guards.yaml")
_FOLD = re.compile(r"[.\-_]")


class GuardsError(ConfigError):
    """The identity guard file (TOUCHSTREAM_IDENTITY_GUARDS) is malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class IdentityGuards:
    role_local_parts: frozenset[str] = frozenset()
    shared_max_people: int = 0  # 0: the shared-device guard is off
    shared_window_s: float = 30 * 86_400.0
    person_max_accounts: int = 0  # 0: no flag

    def is_role_address(self, email: str | None) -> bool:
        """Whether ``email``'s local part (ignoring case, dots, dashes, ``+tags``) is a role name."""
        if not email or "@" not in email or not self.role_local_parts:
            return False
        local = email.rsplit("@", 1)[0].split("+", 1)[0].strip().lower()
        return _FOLD.sub("", local) in self.role_local_parts

    def shared(self, first_seen: list[float]) -> bool:
        """Whether first identifications at these times (one per person) make a device shared.

        More than ``shared_max_people`` of them within any ``shared_window_s``: after sorting, some
        ``t[i + max]`` is at most a window after ``t[i]``.
        """
        n = self.shared_max_people
        if n <= 0 or len(first_seen) <= n:
            return False
        times = sorted(first_seen)
        return any(times[i + n] - times[i] <= self.shared_window_s for i in range(len(times) - n))


def load_guards(path: Path | None = None) -> IdentityGuards:
    """Read the guard file; a missing key keeps its default, a malformed file raises ``GuardsError``."""
    source = path or GUARDS_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise GuardsError(f"identity guards {source}: {exc}") from None
    try:
        shared = raw.get("shared_device") or {}
        roles = raw.get("role_local_parts") or ()
        return IdentityGuards(
            role_local_parts=frozenset(_FOLD.sub("", str(part).lower()) for part in roles),
            shared_max_people=int(shared.get("max_people", 0)),
            shared_window_s=float(shared.get("window_days", 30)) * 86_400.0,
            person_max_accounts=int(raw.get("person_max_accounts", 0)),
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise GuardsError(f"identity guards {source}: {exc}") from None
