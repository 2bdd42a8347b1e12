"""Process entry point that serves ClickHouse from the chdb wheel (``python -m embedded.clickhouse_main``).

chdb's ``_chdb`` is a private entry point, so the recipe from ``shared/embedded-clickhouse.md`` is
kept here and nowhere else; ``tests/integration/embedded`` pins its behaviour.
"""

from __future__ import annotations

import os
import sys

from chdb import _chdb  # noqa: I001 - must be imported before chdir (the recipe requires it)


def serve(run_dir: str, data_dir: str) -> None:
    """Block serving native TCP + HTTP until the process is signalled."""
    os.chdir(run_dir)
    ports = os.path.join(run_dir, "ports.tsv")
    query = (
        "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; "
        f"INSERT INTO FUNCTION file('{ports}', TSV, 't UInt16,h UInt16') "
        "SELECT getServerPort('tcp_port'), getServerPort('http_port'); "
        "SELECT sleepEachRow(1) FROM system.numbers SETTINGS max_block_size=1 FORMAT Null"
    )
    _chdb.query(query, "TabSeparated", path=data_dir)  # type: ignore[attr-defined]  # untyped C extension


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
