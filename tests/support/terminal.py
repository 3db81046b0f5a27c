"""Run a command with its stderr on a real pseudo-terminal (what an operator's shell gives it) and its stdin and
stdout on files (what ``< archive`` and ``> archive`` give it), to see what it draws and what it streams."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import tempfile
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: bytes
    terminal: bytes  # everything written to stderr, escape sequences included


def run_on_terminal(args: list[str], env: dict[str, str], stdin: bytes = b"", timeout: float = 300) -> Run:
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as source, tempfile.TemporaryFile() as sink:
        source.write(stdin)
        source.seek(0)
        with subprocess.Popen(
            args, env={"COLUMNS": "120", "LINES": "40", **env}, stdin=source, stdout=sink, stderr=slave
        ) as proc:
            os.close(slave)
            terminal = bytearray()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not select.select([master], [], [], 0.5)[0]:
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the last holder of the terminal has closed it
                    break
                if not chunk:
                    break
                terminal += chunk
            os.close(master)
            returncode = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        sink.seek(0)
        return Run(returncode, sink.read(), bytes(terminal))
