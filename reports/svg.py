"""Inline SVG charts for the html report: no script, no external asset, readable when printed.

Each function returns one ``<svg>`` element sized by its content; text is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["PALETTE", "color_for", "column_stack", "funnel_matrix", "hbars", "share_bars", "sparkline"]

# Tableau-10-like, distinguishable and printable; channels get a stable colour by position.
PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#86bcb6", "#d37295", "#8cd17d",
)  # fmt: skip
CATEGORY_COLORS = {"demand_gen": "#2a9d8f", "lead_gen": "#3d5a98", "direct": "#a0a4ab", "": "#c9ccd1"}
_FONT = 'font-family="Inter, Segoe UI, Helvetica, Arial, sans-serif" font-size="12"'


def color_for(key: str, order: Sequence[str]) -> str:
    return PALETTE[order.index(key) % len(PALETTE)] if key in order else PALETTE[-1]


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto" role="img" aria-label="{escape(label)}" '
        f"{_FONT}>{body}</svg>"
    )


def _empty(label: str) -> str:
    return _svg(400, 40, '<text x="0" y="24" fill="#888">no data for this period</text>', label)


def hbars(items: Sequence[tuple[str, float, str]], label: str, fmt: str = "{:,.1f}", width: int = 420) -> str:
    """Horizontal bars: (name, value, colour) each, longest bar = largest value."""
    if not items or max(v for _, v, _ in items) <= 0:
        return _empty(label)
    top = max(v for _, v, _ in items)
    left, right, row = 130, 60, 22
    span = width - left - right
    parts = []
    for i, (name, value, color) in enumerate(items):
        y = i * row
        w = max(0.0, value) / top * span
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" fill="#333">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" rx="2" fill="{color}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 15}" fill="#555">{escape(fmt.format(value))}</text>'
        )
    return _svg(width, len(items) * row + 4, "".join(parts), label)


def share_bars(rows: Sequence[tuple[str, Mapping[str, float]]], segments: Sequence[str], label: str) -> str:
    """One 100 % stacked bar per row (e.g. per model) split into ``segments`` (e.g. categories)."""
    rows = [(name, parts) for name, parts in rows if sum(parts.values()) > 0]
    if not rows:
        return _empty(label)
    width, left, row = 860, 130, 26
    span = width - left - 10
    out = []
    for i, (name, parts) in enumerate(rows):
        total = sum(parts.values())
        x, y = float(left), i * row + 24
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" fill="#333">{escape(name)}</text>')
        for segment in segments:
            w = parts.get(segment, 0.0) / total * span
            if w <= 0:
                continue
            color = CATEGORY_COLORS.get(segment, PALETTE[-1])
            out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{color}"/>')
            if w > 34:
                out.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + 16}" text-anchor="middle" fill="#fff">'
                    f"{parts[segment] / total:.0%}</text>"
                )
            x += w
    legend = _legend([(s.replace("_", " "), CATEGORY_COLORS.get(s, PALETTE[-1])) for s in segments], left)
    return _svg(width, len(rows) * row + 30, legend + "".join(out), label)


def _legend(entries: Sequence[tuple[str, str]], x0: float) -> str:
    out, x = [], x0
    for name, color in entries:
        out.append(
            f'<rect x="{x:.0f}" y="4" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14:.0f}" y="13" fill="#444">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return "".join(out)


def column_stack(
    columns: Sequence[tuple[str, Mapping[str, float]]], segments: Sequence[str], label: str
) -> str:
    """Stacked columns over time (e.g. credited conversions per week, split by category)."""
    totals = [sum(parts.values()) for _, parts in columns]
    if not columns or max(totals) <= 0:
        return _empty(label)
    width, height, left, bottom, top_pad = 860, 240, 44, 34, 26
    plot_h = height - bottom - top_pad
    step = (width - left - 10) / len(columns)
    bar = max(4.0, step * 0.7)
    top = max(totals)
    out = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#bbb"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" fill="#777">{top:,.1f}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end" fill="#777">0</text>',
    ]
    for i, (name, parts) in enumerate(columns):
        x = left + i * step + (step - bar) / 2
        y = float(height - bottom)
        for segment in segments:
            h = parts.get(segment, 0.0) / top * plot_h
            if h <= 0:
                continue
            y -= h
            color = CATEGORY_COLORS.get(segment, PALETTE[-1])
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{color}"/>')
        if len(columns) <= 16 or i % 2 == 0:
            out.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'fill="#555">{escape(name)}</text>'
            )
    legend = _legend([(s.replace("_", " "), CATEGORY_COLORS.get(s, PALETTE[-1])) for s in segments], left)
    return _svg(width, height, legend + "".join(out), label)


def funnel_matrix(
    channels: Sequence[str], stages: Sequence[str], counts: Mapping[tuple[str, str], int], label: str
) -> str:
    """Rows = first-touch channels, columns = stages; each cell a bar scaled to its row's first stage."""
    if not channels:
        return _empty(label)
    left, cell, row, head = 130, 145, 24, 24
    width = left + cell * len(stages) + 10
    out = [
        f'<text x="{left + j * cell + 4}" y="15" fill="#333" font-weight="600">'
        f"{escape(s.replace('_', ' '))}</text>"
        for j, s in enumerate(stages)
    ]
    for i, channel in enumerate(channels):
        y = head + i * row
        base = max([counts.get((channel, s), 0) for s in stages] + [1])
        out.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" fill="#333">{escape(channel)}</text>'
        )
        for j, stage in enumerate(stages):
            n = counts.get((channel, stage), 0)
            w = n / base * (cell - 40)
            x = left + j * cell + 4
            out.append(
                f'<rect x="{x}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" rx="2" fill="#3d5a98" '
                f'opacity="{0.35 + 0.65 * (j + 1) / len(stages):.2f}"/>'
                f'<text x="{x + w + 4:.1f}" y="{y + 15}" fill="#444">{n:,}</text>'
            )
    return _svg(width, head + len(channels) * row + 4, "".join(out), label)


def sparkline(values: Sequence[float | None], label: str, width: int = 140, height: int = 28) -> str:
    """A line over the values (oldest left), a gap where one is None, a dot on the latest value."""
    known = [v for v in values if v is not None]
    if len(values) < 2 or not known:
        return _svg(width, height, "", label)
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (width - 6) / (len(values) - 1)

    def point(i: int, v: float) -> str:
        return f"{3 + i * step:.1f},{height - 3 - (v - low) / span * (height - 6):.1f}"

    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append(point(i, v))
    lines = "".join(
        f'<polyline points="{" ".join(run)}" fill="none" stroke="#3d5a98" stroke-width="1.5"/>'
        for run in runs
        if len(run) > 1
    )
    last = next(((i, v) for i, v in reversed(list(enumerate(values))) if v is not None))
    x, y = point(*last).split(",")
    return _svg(width, height, f'{lines}<circle cx="{x}" cy="{y}" r="2.5" fill="#e15759"/>', label)
