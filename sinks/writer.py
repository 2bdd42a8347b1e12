"""Columnar inserts of a batch into ClickHouse, with a deduplication token and error triage.

Errors fall in two groups. Connection trouble and server-side overload are
:class:`~sinks.errors.ClickHouseUnavailableError`: the caller backs off and retries the *same* batch
(same token, so a lost acknowledgement cannot double it). Rows that cannot be typed are caught
before the insert by :func:`sinks.rows.to_columns`, so every other server error is retried too:
dropping data on an unexpected error would be worse than stalling with a loud log and metric.
"""

from __future__ import annotations

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as DriverError
from clickhouse_driver.errors import ServerException
from kafka.structs import TopicPartition

from sinks.batcher import Batch, Reject
from sinks.errors import ClickHouseUnavailableError
from sinks.rows import BadRowError, check_row, to_columns

__all__ = ["split_rejects", "write_batch"]


def split_rejects(batch: Batch) -> None:
    """Move rows that fail the type check into ``batch.rejects`` (slow path, only after a failed check)."""
    keep_rows: list[tuple[object, ...]] = []
    keep_origins: list[tuple[TopicPartition, int, bytes]] = []
    for row, origin in zip(batch.rows, batch.origins, strict=True):
        try:
            check_row(batch.spec, row)
        except BadRowError as exc:
            tp, offset, payload = origin
            batch.rejects.append(Reject(tp.topic, tp.partition, offset, payload, exc.reason, exc.field))
        else:
            keep_rows.append(row)
            keep_origins.append(origin)
    batch.rows[:] = keep_rows
    batch.origins[:] = keep_origins


def write_batch(client: Client, database: str, batch: Batch) -> int:
    """Insert the batch's rows (rejects split off first); returns the rows sent.

    Raises :class:`ClickHouseUnavailableError` when the insert did not go through.
    """
    try:
        columns = to_columns(batch.spec, batch.rows)
    except BadRowError:
        split_rejects(batch)
        columns = to_columns(batch.spec, batch.rows)
    if not batch.rows:
        return 0
    settings = {
        "insert_deduplication_token": batch.token(),
        # Synchronous insert: the acknowledgement means the rows are in a part on disk.
        "async_insert": 0,
    }
    try:
        client.execute(batch.spec.insert_sql(database), columns, columnar=True, settings=settings)
    except ServerException as exc:
        message = str(exc.message).split("Stack trace:")[0].strip()[:300]
        table = batch.spec.table
        raise ClickHouseUnavailableError(f"insert into {table} failed (code {exc.code}): {message}") from exc
    except (DriverError, OSError, EOFError) as exc:  # OSError covers refused / reset / timeout
        client.disconnect()  # the next attempt reconnects from scratch
        raise ClickHouseUnavailableError(f"insert into {batch.spec.table} failed: {exc!r}") from exc
    return len(batch.rows)
