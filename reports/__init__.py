"""Reports people read: attribution by channel or campaign, KPI tables, and their renderings."""

from __future__ import annotations

from reports.errors import ClickHouseUnavailableError, QueryFailedError, ReportError, ReportOptionError
from reports.render import FORMATS, Column, render

__all__ = [
    "FORMATS",
    "ClickHouseUnavailableError",
    "Column",
    "QueryFailedError",
    "ReportError",
    "ReportOptionError",
    "render",
]
