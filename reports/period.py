"""Reporting periods: ``--since 30d`` / ``--since 2024-05-01`` up to now, and the period before it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from reports.errors import ReportOptionError

__all__ = ["Period", "parse_since"]

_RELATIVE = re.compile(r"^(\d{1,5})([dw])$")


@dataclass(frozen=True, slots=True)
class Period:
    """The half-open interval [start, end), both UTC-aware."""

    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86_400.0

    @property
    def start_ms(self) -> int:
        return _ms(self.start)

    @property
    def end_ms(self) -> int:
        return _ms(self.end)

    def previous(self) -> Period:
        """The period of equal length that ends where this one starts (for change-vs-previous)."""
        return Period(self.start - (self.end - self.start), self.start)

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} → {self.end:%Y-%m-%d}"


def _ms(moment: datetime) -> int:
    # Queries take epoch milliseconds: clickhouse-driver would render an aware datetime in the
    # *server's* time zone, which is not necessarily the UTC our DateTime64 columns are in.
    return round(moment.timestamp() * 1000)


def parse_since(since: str, now: datetime | None = None) -> Period:
    """``30d`` / ``12w`` (relative to ``now``) or an ISO date (midnight UTC) -> [start, now)."""
    end = now or datetime.now(UTC)
    text = since.strip().lower()
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        if amount == 0:
            raise ReportOptionError(f"--since {since!r} is an empty period")
        start = end - timedelta(days=amount * (7 if unit == "w" else 1))
    else:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ReportOptionError(f"--since {since!r}: expected e.g. 30d, 12w or 2024-05-01") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if start >= end:
        raise ReportOptionError(f"--since {since!r} is not before now ({end:%Y-%m-%d %H:%M} UTC)")
    return Period(start, end)
