"""Attribution benchmark: every model over 1M synthetic journeys, each beside a plain-Python baseline.

Run ``python -m bench.attribution [--n 1000000]``. Baselines are measured in the same run on the same
data; the per-journey rule-based baseline runs on a sample and is scaled up (it would take minutes).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from attribution import RULE_BASED_MODELS, Touch, credit
from attribution.batch import JourneyArrays, batch_credits
from attribution.markov import markov
from attribution.shapley import shapley

CHANNELS = [
    "paid_search", "organic_search", "paid_social", "organic_social", "email",
    "podcast", "video", "native_display", "events", "direct",
]  # fmt: skip
CHANNEL_MIX = np.array([10, 12, 8, 6, 14, 3, 5, 7, 4, 31], dtype=np.float64) / 100
DAY = 86_400.0
BASELINE_SAMPLE = 20_000


@dataclass(frozen=True)
class Synthetic:
    arrays: JourneyArrays
    codes: np.ndarray[Any, np.dtype[np.int64]]
    paths: list[list[str]]
    conversions: list[int]


def generate(n: int, seed: int = 0) -> Synthetic:
    """Journeys of 1-10 touches over 10 channels, ~3 % converting, ~30 % with a lead, half of them an opp."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 11, n)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    total = int(offsets[-1])
    journey = np.repeat(np.arange(n), lengths)
    codes = rng.choice(len(CHANNELS), size=total, p=CHANNEL_MIX).astype(np.int64)
    steps = np.cumsum(rng.exponential(2 * DAY, total))
    ts = 1.7e9 + rng.uniform(0, 90 * DAY, n)[journey] + steps - steps[offsets[:-1]][journey]
    is_lead = np.zeros(total, dtype=np.bool_)
    is_opp = np.zeros(total, dtype=np.bool_)
    leads = np.flatnonzero(rng.random(n) < 0.3)
    lead_pos = (rng.random(len(leads)) * lengths[leads]).astype(np.int64)
    is_lead[offsets[leads] + lead_pos] = True
    opps = rng.random(len(leads)) < 0.5
    gap = lengths[leads] - lead_pos
    opp_pos = lead_pos + (rng.random(len(leads)) * gap).astype(np.int64)
    is_opp[(offsets[leads] + opp_pos)[opps]] = True
    arrays = JourneyArrays(offsets, ts, codes == CHANNELS.index("direct"), is_lead, is_opp)
    names = np.array(CHANNELS)[codes].tolist()
    paths = [names[offsets[j] : offsets[j + 1]] for j in range(n)]
    conversions = (rng.random(n) < 0.03).astype(np.int64).tolist()
    return Synthetic(arrays, codes, paths, conversions)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def touches_of(data: Synthetic, j: int) -> list[Touch]:
    a = data.arrays
    return [
        Touch(
            str(i),
            float(a.ts[i]),
            CHANNELS[data.codes[i]],
            "",
            "",
            bool(a.is_lead[i]),
            bool(a.is_opportunity[i]),
        )
        for i in range(int(a.offsets[j]), int(a.offsets[j + 1]))
    ]


def naive_markov(paths: list[list[str]], conversions: list[int]) -> dict[str, float]:
    """Textbook loop version: dict transition counts, then one numpy solve per removed channel."""
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for path, conv in zip(paths, conversions, strict=True):
        previous = "(start)"
        for channel in path:
            if channel != previous:
                counts[previous][channel] += 1
                previous = channel
        counts[previous]["(conversion)" if conv else "(null)"] += 1
    states = ["(start)", *sorted({c for row in counts.values() for c in row} - {"(conversion)", "(null)"})]
    index = {s: i for i, s in enumerate(states)}

    def p_conv(removed: str | None) -> float:
        keep = [s for s in states if s != removed]
        q = np.zeros((len(keep), len(keep)))
        r = np.zeros(len(keep))
        for i, s in enumerate(keep):
            total = sum(counts[s].values())
            for t, w in counts[s].items():
                if t == "(conversion)":
                    r[i] += w / total
                elif t != "(null)" and t != removed:
                    q[i, keep.index(t)] += w / total
        return float(np.linalg.solve(np.eye(len(keep)) - q, r)[0])

    base = p_conv(None)
    effects = {s: 1 - p_conv(s) / base for s in states[1:] if s in index}
    return {s: e / sum(effects.values()) for s, e in effects.items()}


def naive_shapley(paths: list[list[str]], conversions: list[int]) -> dict[str, float]:
    """Loop version: conversions per channel set, v(S) by scanning sets, Shapley over all coalitions."""
    by_set: dict[frozenset[str], int] = defaultdict(int)
    for path, conv in zip(paths, conversions, strict=True):
        by_set[frozenset(path)] += conv
    channels = sorted(set().union(*by_set))
    n = len(channels)
    v = {}
    for size in range(n + 1):
        for members in itertools.combinations(channels, size):
            coalition = frozenset(members)
            v[coalition] = sum(c for s, c in by_set.items() if s <= coalition)
    phi = dict.fromkeys(channels, 0.0)
    for coalition, value in v.items():
        for ch in channels:
            if ch not in coalition:
                w = (
                    math.factorial(len(coalition))
                    * math.factorial(n - len(coalition) - 1)
                    / math.factorial(n)
                )
                phi[ch] += w * (v[coalition | {ch}] - value)
    total = sum(phi.values())
    return {ch: x / total for ch, x in phi.items()}


def main(n: int = 1_000_000) -> list[dict[str, Any]]:
    data = generate(n)
    sample = min(n, BASELINE_SAMPLE)
    journeys = [touches_of(data, j) for j in range(sample)]
    scale = n / sample
    # Keep the collector from re-walking the million input lists during every timed section.
    gc.collect()
    gc.freeze()
    rows: list[dict[str, Any]] = []
    for model in RULE_BASED_MODELS:
        seconds = _timed(lambda m=model: batch_credits(m, data.arrays))
        base = _timed(lambda m=model: [credit(m, j) for j in journeys]) * scale
        rows.append(
            {
                "figure": f"{model} (batch)",
                "seconds": seconds,
                "baseline": "per-journey loop*",
                "baseline_seconds": base,
            }
        )
    rule_total = sum(r["seconds"] for r in rows)
    rows.append(
        {
            "figure": "all rule-based (batch)",
            "seconds": rule_total,
            "baseline": "per-journey loop*",
            "baseline_seconds": sum(r["baseline_seconds"] for r in rows),
        }
    )
    shares: dict[str, dict[str, float]] = {}
    seconds = _timed(lambda: shares.setdefault("markov", markov(data.paths, data.conversions)))
    base = _timed(lambda: shares.setdefault("naive", naive_markov(data.paths, data.conversions)))
    drift = max(abs(shares["markov"][c] - shares["naive"][c]) for c in shares["naive"])
    rows.append(
        {
            "figure": f"markov order 1 (max |diff| {drift:.1e})",
            "seconds": seconds,
            "baseline": "python loops",
            "baseline_seconds": base,
        }
    )
    seconds = _timed(lambda: shares.setdefault("shapley", shapley(data.paths, data.conversions)))
    base = _timed(lambda: shares.setdefault("naive_s", naive_shapley(data.paths, data.conversions)))
    drift = max(abs(shares["shapley"][c] - shares["naive_s"][c]) for c in shares["naive_s"])
    rows.append(
        {
            "figure": f"shapley exact (max |diff| {drift:.1e})",
            "seconds": seconds,
            "baseline": "python loops",
            "baseline_seconds": base,
        }
    )
    for row in rows:
        row["ratio"] = row["baseline_seconds"] / row["seconds"]
    _print(rows, n, sample)
    return rows


def _print(rows: list[dict[str, Any]], n: int, sample: int) -> None:
    print(f"attribution benchmark: {n:,} journeys; * per-journey baseline timed on {sample:,} and scaled")
    print(f"{'figure':<40} {'seconds':>9}  {'baseline':<18} {'seconds':>9} {'ratio':>8}")
    for r in rows:
        print(
            f"{r['figure']:<40} {r['seconds']:>9.3f}  {r['baseline']:<18} {r['baseline_seconds']:>9.3f} "
            f"{r['ratio']:>7.1f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="number of synthetic journeys")
    main(parser.parse_args().n)
