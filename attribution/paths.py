"""Conversion paths aggregated and integer-coded once, for the Markov and Shapley models."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from numpy.typing import NDArray

from attribution.errors import AttributionInputError

__all__ = ["CodedPaths", "code_paths"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class CodedPaths:
    """Distinct non-empty paths as flat channel codes with their conversion and null counts.

    Path ``p`` is ``codes[offsets[p]:offsets[p + 1]]``; code ``c`` is channel ``channels[c]``.
    Build it with ``code_paths`` or directly from arrays (the benchmark does); paths need not be distinct.
    """

    channels: tuple[str, ...]
    offsets: Ints
    codes: Ints
    conversions: Floats
    nulls: Floats

    def __post_init__(self) -> None:
        n_paths = len(self.offsets) - 1
        if n_paths < 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.codes):
            raise AttributionInputError("offsets must start at 0 and end at len(codes)")
        if np.any(np.diff(self.offsets) <= 0):
            raise AttributionInputError("every path needs at least one touch")
        if len(self.conversions) != n_paths or len(self.nulls) != n_paths:
            raise AttributionInputError("conversions and nulls need one entry per path")
        counts = np.concatenate((self.conversions, self.nulls))
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise AttributionInputError("conversion and null counts must be finite and >= 0")
        if len(self.codes) and (self.codes.min() < 0 or self.codes.max() >= len(self.channels)):
            raise AttributionInputError("channel codes must index into channels")

    @property
    def n_paths(self) -> int:
        return len(self.offsets) - 1

    @property
    def path_index(self) -> Ints:
        """For every touch, the index of its path."""
        return np.repeat(np.arange(self.n_paths, dtype=np.int64), np.diff(self.offsets))


def code_paths(
    paths: Sequence[Sequence[str]],
    conversions: Sequence[int | float],
    nulls: Sequence[int | float] | None = None,
) -> CodedPaths:
    """Aggregate identical (path, conversions, nulls) rows, then code channels as sorted integers.

    ``nulls=None`` means each row is one journey: a row with zero conversions counts as one null,
    a converting row as none. Pass explicit nulls for ChannelAttribution-style aggregated rows.
    Empty paths are dropped: they touch no channel, so they cannot move any channel's credit.
    """
    if len(conversions) != len(paths) or (nulls is not None and len(nulls) != len(paths)):
        raise AttributionInputError("paths, conversions and nulls must have the same length")
    # Counter over tuples runs in C; it both deduplicates and keeps the Python-level work per row tiny.
    keys = map(tuple, paths)
    rows: list[tuple[tuple[str, ...], float, float]]
    if nulls is None:
        counted = Counter(zip(keys, conversions, strict=True))
        rows = [(p, float(c) * k, 0.0 if c else float(k)) for (p, c), k in counted.items() if p]
    else:
        counted3 = Counter(zip(keys, conversions, nulls, strict=True))
        rows = [(p, float(c) * k, float(n) * k) for (p, c, n), k in counted3.items() if p]
    unique_paths = [row[0] for row in rows]
    channels = tuple(sorted(set(chain.from_iterable(unique_paths))))
    index = {channel: code for code, channel in enumerate(channels)}
    lengths = np.fromiter(map(len, unique_paths), dtype=np.int64, count=len(unique_paths))
    offsets = np.zeros(len(unique_paths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.fromiter(
        map(index.__getitem__, chain.from_iterable(unique_paths)), dtype=np.int64, count=int(offsets[-1])
    )
    return CodedPaths(
        channels=channels,
        offsets=offsets,
        codes=codes,
        conversions=np.array([row[1] for row in rows], dtype=np.float64),
        nulls=np.array([row[2] for row in rows], dtype=np.float64),
    )
