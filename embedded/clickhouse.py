"""The embedded ClickHouse server: a real server (native TCP + HTTP) in its own process."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from embedded.errors import EmbeddedServiceError
from embedded.process import spawn_child, stop_child

__all__ = ["ANALYST_PASSWORD", "ANALYST_USER", "EmbeddedClickHouse"]

ANALYST_USER = "analyst"
# The embedded server listens on 127.0.0.1 only; production sets its own password in users.xml.
ANALYST_PASSWORD = "analyst"  # noqa: S105

_CONFIG = """<clickhouse>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp}</tcp_port>
  <http_port>{http}</http_port>
  <logger><level>warning</level><console>1</console></logger>
  <user_directories><users_xml><path>{run_dir}/users.xml</path></users_xml></user_directories>
</clickhouse>
"""

# `default` keeps full rights for Touchstream itself; `analyst` is read-only (readonly=2 still lets
# clients set per-query settings such as output format, but never write or change data).
_USERS = """<clickhouse>
  <profiles>
    <default/>
    <analyst><readonly>2</readonly></analyst>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota>
      <access_management>1</access_management>
    </default>
    <analyst>
      <password>{analyst_password}</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>analyst</profile><quota>default</quota>
    </analyst>
  </users>
  <quotas><default/></quotas>
</clickhouse>
"""


@dataclass
class EmbeddedClickHouse:
    """Serves the data in ``home/clickhouse``; ``tcp_port``/``http_port`` 0 pick free ports."""

    home: Path
    tcp_port: int = 0
    http_port: int = 0
    startup_timeout_s: float = 60.0
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.home / "clickhouse" / "data"

    @property
    def run_dir(self) -> Path:
        return self.home / "clickhouse" / "run"

    @property
    def native_address(self) -> str:
        return f"127.0.0.1:{self.tcp_port}"

    @property
    def url(self) -> str:
        return f"clickhouse://default@127.0.0.1:{self.tcp_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> EmbeddedClickHouse:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        ports_file = self.run_dir / "ports.tsv"
        ports_file.unlink(missing_ok=True)
        (self.run_dir / "config.xml").write_text(
            _CONFIG.format(tcp=self.tcp_port, http=self.http_port, run_dir=self.run_dir.resolve())
        )
        (self.run_dir / "users.xml").write_text(_USERS.format(analyst_password=ANALYST_PASSWORD))
        self._proc = spawn_child(
            [
                sys.executable,
                "-m",
                "embedded.clickhouse_main",
                str(self.run_dir.resolve()),
                str(self.data_dir.resolve()),
            ],
            log_file=self.home / "logs" / "clickhouse.log",
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmbeddedServiceError(
                    f"embedded ClickHouse exited with {self._proc.returncode}; see "
                    f"{self.home / 'logs' / 'clickhouse.log'} (is another server using {self.data_dir}?)"
                )
            text = ports_file.read_text().strip() if ports_file.exists() else ""
            if text:
                tcp, http = text.split()
                self.tcp_port, self.http_port = int(tcp), int(http)
                return self
            time.sleep(0.05)
        self.stop()
        raise EmbeddedServiceError(f"embedded ClickHouse not ready after {self.startup_timeout_s:.0f}s")

    def stop(self) -> None:
        if self._proc is not None:
            stop_child(self._proc, grace_s=10.0)
            self._proc = None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> EmbeddedClickHouse:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
