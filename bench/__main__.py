"""``make bench``: run every benchmark, each printing its figures beside a same-run baseline.

Each benchmark runs in its own process (they start their own embedded broker / ClickHouse) so one
cannot skew another through leftover threads or heap. ``python -m bench attribution sink`` runs a subset.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHES = ("attribution", "collector", "durability", "streams", "sink", "compat")


def main(argv: list[str]) -> int:
    chosen = argv or [b for b in BENCHES if _exists(b)]
    failed = []
    for name in chosen:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
        print(f"=== bench.{name}: exit {code} after {time.monotonic() - started:.0f}s ===", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


def _exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"bench.{name}") is not None


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
