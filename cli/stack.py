"""Bring the whole pipeline up in the foreground and take it down cleanly.

Embedded ClickHouse and Kafka start unless external ones are configured; then the schema is
migrated, topics are created, and each component (collector, stream workers, sink, monitor) runs as
its own ``touchstream <component>`` process configured purely by ``TOUCHSTREAM_*`` env vars, exactly
as docker-compose runs them in production.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cli.readiness import wait_ready
from embedded.clickhouse import EmbeddedClickHouse
from embedded.errors import EmbeddedServiceError
from embedded.kafka import EmbeddedKafka
from embedded.process import free_port, spawn_child, stop_child
from schemas import jsonio
from schemas.guards import load_guards
from schemas.settings import Settings
from sinks.client import connect
from sinks.migrate import apply_migrations
from streams.admin import ensure_topics
from streams.rebuild import rebuild_state

__all__ = ["COMPONENTS", "Component", "Stack", "StackFailedError"]


@dataclass(frozen=True, slots=True)
class Component:
    """A long-running process started as ``touchstream <command>``; ``replicas`` from settings."""

    name: str
    command: str
    replicas_setting: str | None = None  # Settings attribute holding the replica count
    metrics_port: bool = True  # False: serves /metrics on its own HTTP port (the collector)


# Start order matters: consumers first so nothing produced by the collector waits on a join.
COMPONENTS: tuple[Component, ...] = (
    Component("worker", "worker", "stream_workers"),
    Component("sink", "sink", "sink_workers"),
    Component("monitor", "monitor"),
    Component("collector", "collector", "collector_workers", metrics_port=False),
)


# A process that dies more than MAX_CRASHES times within CRASH_WINDOW_S is crash-looping: stop.
MAX_CRASHES, CRASH_WINDOW_S = 5, 120.0


class StackFailedError(EmbeddedServiceError):
    """A part of the stack cannot be kept running; the message says which and where its log is."""


@dataclass
class Stack:
    settings: Settings
    components: tuple[Component, ...] = COMPONENTS
    clickhouse: EmbeddedClickHouse | None = None
    kafka: EmbeddedKafka | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    specs: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    crashes: dict[str, list[float]] = field(default_factory=dict)  # name -> recent crash times
    rebuilt_entities: int = 0  # messages the re-seed from ClickHouse produced

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def endpoints_file(self) -> Path:
        return self.home / "endpoints.json"

    def start(self, progress: Callable[[str], None] = lambda _msg: None) -> dict[str, str]:
        """Start everything and wait until it is ready; returns the endpoints written to ``endpoints.json``.

        ``progress`` receives what is still awaited (e.g. a worker's restore count) while waiting.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        # Left behind by a stack that was killed: it must not announce this one before it is ready.
        self.endpoints_file.unlink(missing_ok=True)
        s = self.settings
        if s.embedded_clickhouse:
            self.clickhouse = EmbeddedClickHouse(
                self.home, s.embedded_clickhouse_tcp_port, s.embedded_clickhouse_http_port
            ).start()
            ch_url, ch_http = self.clickhouse.url, self.clickhouse.http_url
            ch_native = self.clickhouse.native_address
        else:
            assert s.clickhouse_url is not None
            ch_url, ch_http = s.clickhouse_url, s.clickhouse_http_url or ""
            ch_native = ch_url.split("@")[-1].split("/")[0]
        if s.embedded_kafka:
            self.kafka = EmbeddedKafka(
                self.home,
                s.embedded_kafka_port,
                storage=s.embedded_kafka_storage,
                keep_consumed_s=s.embedded_kafka_keep_consumed_s,
            ).start()
            bootstrap = self.kafka.bootstrap
        else:
            assert s.kafka_bootstrap is not None
            bootstrap = s.kafka_bootstrap
        apply_migrations(connect(ch_url), s.clickhouse_database, load_guards(s.identity_guards))
        ensure_topics(bootstrap, s.partitions)
        if self.kafka is not None and not self.kafka.resumed:
            # A new broker log (a first or lost durable store, or memory mode) has no changelogs:
            # the workers' local state from an earlier run would point past their ends (faust's
            # ConsistencyError), so it goes, and journey state is re-seeded from ClickHouse.
            self.reset_stream_state()
            self.rebuilt_entities = rebuild_state(ch_url, s.clickhouse_database, bootstrap, s)
        collector_port = s.collector_port or free_port()
        self.endpoints = {
            "collector": f"http://{s.collector_host}:{collector_port}",
            "kafka_bootstrap": bootstrap,
            "clickhouse_native": ch_native,
            "clickhouse_http": ch_http,
            "clickhouse_database": s.clickhouse_database,
            "clickhouse_url": ch_url,
            "home": str(self.home.resolve()),
            "pid": str(os.getpid()),  # lets commands tell a running stack from a killed one's file
        }
        env = {
            **os.environ,
            "TOUCHSTREAM_KAFKA_BOOTSTRAP": bootstrap,
            "TOUCHSTREAM_CLICKHOUSE_URL": ch_url,
            "TOUCHSTREAM_CLICKHOUSE_HTTP_URL": ch_http,
            "TOUCHSTREAM_COLLECTOR_PORT": str(collector_port),
            "TOUCHSTREAM_HOME": str(self.home.resolve()),
            # Children need to know the broker is the embedded one (quirk workarounds) even though
            # they receive its address like any external broker.
            "TOUCHSTREAM_EMBEDDED_BROKER": "1" if (s.embedded_kafka or s.embedded_broker) else "0",
        }
        for comp in self.components:
            replicas = int(getattr(s, comp.replicas_setting)) if comp.replicas_setting else 1
            for i in range(replicas):
                name = comp.name if replicas == 1 else f"{comp.name}-{i + 1}"
                child_env = {**env, "TOUCHSTREAM_REPLICA": str(i)}
                if comp.metrics_port:
                    metrics_port = free_port()
                    self.endpoints[f"metrics_{name}"] = f"http://127.0.0.1:{metrics_port}/metrics"
                    child_env["TOUCHSTREAM_METRICS_PORT"] = str(metrics_port)
                self.specs[name] = ([sys.executable, "-m", "cli.main", comp.command], child_env)
                self.procs[name] = self._spawn(name)
        wait_ready(
            self.procs,
            self.endpoints,
            s.startup_timeout_s,
            progress,
            logs_hint=f"; see {self.home / 'logs'}",
        )
        self.endpoints_file.write_bytes(jsonio.dumps(self.endpoints))
        return self.endpoints

    def broker_note(self) -> str | None:
        """What became of the embedded broker's log at start (None: an external broker)."""
        if self.kafka is None:
            return None
        if not self.kafka.durable:
            return (
                "broker log in memory (TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE=memory): a crash may lose "
                f"acknowledged events; journeys re-seeded from ClickHouse ({self.rebuilt_entities} messages)"
            )
        if self.kafka.resumed:
            return f"broker log: resumed from the kept log in {self.kafka.store_dir}"
        return (
            f"broker log: new log in {self.kafka.store_dir}; journeys re-seeded from ClickHouse "
            f"({self.rebuilt_entities} messages)"
        )

    def reset_stream_state(self) -> None:
        """Drop the workers' local table stores (RocksDB); they are rebuilt from the broker."""
        shutil.rmtree(self.home / "streams", ignore_errors=True)

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        argv, env = self.specs[name]
        return spawn_child(argv, log_file=self.home / "logs" / f"{name}.log", env=env)

    def dead_components(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def supervise(self) -> list[str]:
        """Restart what died (embedded servers first, then components); returns what was restarted.

        Everything a dead process had acknowledged is in the broker or ClickHouse, and consumers
        resume from committed offsets, so a restart loses nothing. Raises :class:`StackFailedError`
        when a process keeps dying, or when the memory-only broker died (its topics are gone).
        """
        restarted: list[str] = []
        if self.clickhouse is not None and not self.clickhouse.alive():
            self._note_crash("clickhouse")
            self.clickhouse.stop()
            self.clickhouse.start()  # same ports: clients reconnect
            restarted.append("clickhouse")
        if self.kafka is not None and not self.kafka.alive():
            if not self.kafka.durable:
                raise StackFailedError(
                    "the memory-only embedded broker died and its topics with it; start again "
                    "(the default TOUCHSTREAM_EMBEDDED_KAFKA_STORAGE=durable keeps them)"
                )
            self._note_crash("kafka")
            self.kafka.restart()
            restarted.append("kafka")
        for name in self.dead_components():
            self._note_crash(name, self.procs[name].returncode)
            self.procs[name] = self._spawn(name)
            restarted.append(name)
        return restarted

    def _note_crash(self, name: str, code: int | None = None) -> None:
        now = time.monotonic()
        recent = [t for t in self.crashes.get(name, []) if now - t < CRASH_WINDOW_S] + [now]
        self.crashes[name] = recent
        if len(recent) > MAX_CRASHES:
            exit_note = f" (last exit code {code})" if code is not None else ""
            raise StackFailedError(
                f"{name} died {len(recent)} times in {CRASH_WINDOW_S:.0f}s{exit_note}; "
                f"see {self.home / 'logs' / name}.log"
            )

    def stop(self) -> None:
        """Stop components (producers first), then the broker and ClickHouse; remove endpoints.json."""
        self.endpoints_file.unlink(missing_ok=True)
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            stop_child(proc, grace_s=max(0.1, deadline - time.monotonic()))
        self.procs.clear()
        if self.kafka is not None:
            self.kafka.stop()
        if self.clickhouse is not None:
            self.clickhouse.stop()
