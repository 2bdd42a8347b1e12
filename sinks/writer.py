"""Inserts of a batch into ClickHouse, with a deduplication token and error triage.

The fast path sends the raw payloads and lets ClickHouse parse and check them
(:func:`sinks.parse.raw_insert_sql`). When ClickHouse reports a row that fails the check, the batch
is decoded in Python once (:func:`split_rejects`) and its good rows go in as a columnar insert, the
path every later retry of that batch takes too.

Errors fall in two groups. Connection trouble and server-side overload are
:class:`~sinks.errors.ClickHouseUnavailableError`: the caller backs off and retries the *same* batch
(same token, so a lost acknowledgement cannot double it). Rows that cannot be typed are split off
before the insert, so every other server error is retried too: dropping data on an unexpected
error would be worse than stalling with a loud log and metric.
"""

from __future__ import annotations

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as DriverError
from clickhouse_driver.errors import ServerException

from sinks.batcher import Batch, Reject
from sinks.errors import ClickHouseUnavailableError
from sinks.parse import REJECTED_CODE, raw_insert_sql
from sinks.rows import BadRowError, check_row, decode, to_columns

__all__ = ["split_rejects", "write_batch"]


def split_rejects(batch: Batch) -> None:
    """Decode the batch in Python into ``rows``, moving every bad message into ``rejects`` (slow path)."""
    spec, rows, origins, rejects = batch.spec, batch.rows, batch.origins, batch.rejects
    rows.clear()
    origins.clear()
    rejects.clear()
    for tp, messages in batch.chunks:
        for message in messages:
            payload = message.value or b""
            try:
                row = decode(spec, payload)
                check_row(spec, row)
            except BadRowError as exc:
                rejects.append(Reject(tp.topic, tp.partition, message.offset, payload, exc.reason, exc.field))
            else:
                rows.append(row)
                origins.append((tp, message.offset, payload))
    batch.decoded = True


def _execute(client: Client, batch: Batch, sql: str, data: list[object], columnar: bool) -> None:
    settings = {
        "insert_deduplication_token": batch.token(),
        # Synchronous insert: the acknowledgement means the rows are in a part on disk.
        "async_insert": 0,
    }
    client.execute(sql, data, columnar=columnar, settings=settings)


def write_batch(client: Client, database: str, batch: Batch) -> int:
    """Insert the batch's good rows (rejects split off into ``batch.rejects``); returns the rows sent.

    Raises :class:`ClickHouseUnavailableError` when the insert did not go through.
    """
    table = batch.spec.table
    try:
        if not batch.decoded:
            try:
                _execute(client, batch, raw_insert_sql(batch.spec, database), [batch.values()], True)
                return len(batch)
            except ServerException as exc:
                if exc.code != REJECTED_CODE:
                    raise
                split_rejects(batch)  # nothing was written: find the bad rows, then insert the rest
        if not batch.rows:
            return 0
        columns = to_columns(batch.spec, batch.rows)
        _execute(client, batch, batch.spec.insert_sql(database), columns, True)  # type: ignore[arg-type]  # columns are lists
        return len(batch.rows)
    except ServerException as exc:
        message = str(exc.message).split("Stack trace:")[0].strip()[:300]
        raise ClickHouseUnavailableError(f"insert into {table} failed (code {exc.code}): {message}") from exc
    except (DriverError, OSError, EOFError) as exc:  # OSError covers refused / reset / timeout
        client.disconnect()  # the next attempt reconnects from scratch
        raise ClickHouseUnavailableError(f"insert into {table} failed: {exc!r}") from exc
