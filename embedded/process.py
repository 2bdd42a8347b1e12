"""Child processes that cannot outlive their parent, and a polite-then-firm stop."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

__all__ = ["free_port", "spawn_child", "stop_child"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: the kernel SIGKILLs the child when the parent
    # thread dies, so a crashed `touchstream up` or test session never leaves servers behind.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setsid()  # own process group: Ctrl-C in the terminal reaches only the supervisor


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_child(
    argv: Sequence[str],
    *,
    log_file: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with output to ``log_file``; it is killed if this process dies."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    out: IO[bytes] = log_file.open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - argv is built by Touchstream, never from user input
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for PDEATHSIG; no threads touch it
        )
    finally:
        out.close()


def stop_child(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> int:
    """SIGTERM, wait ``grace_s``, then SIGKILL (a wedged worker may ignore SIGTERM)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
