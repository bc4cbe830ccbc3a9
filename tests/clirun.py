"""Run the real `reader` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def reader(*args: str, data: Path, config: Path | None = None, timeout: float = 120, **env: str) -> Run:
    environ = {**os.environ, "READER_DATA_DIR": str(data), "READER_CONFIG_DIR": str(config or data / "config"),
               "COLUMNS": "200", **env}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "reader", *args], capture_output=True, text=True, env=environ,
        timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return Run(proc.returncode, proc.stdout, proc.stderr)


def reader_in_terminal(*args: str, data: Path, columns: int, rows: int = 40, timeout: float = 60,
                       stdin: str = "", **env: str) -> Run:  # fmt: skip
    """Run `reader` with stdout on a real pseudo-terminal `columns` wide, as in a user's shell.

    `stdin` is typed into the terminal (answers to questions). Returns what the screen received.
    """
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environ = {**os.environ, "READER_DATA_DIR": str(data), "READER_CONFIG_DIR": str(data / "config"),
               "COLUMNS": str(columns), "LINES": str(rows), "TERM": "xterm-256color", **env}  # fmt: skip
    environ.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "reader", *args], stdin=follower, stdout=follower,
                            stderr=subprocess.PIPE, env=environ, close_fds=True)  # fmt: skip
    os.close(follower)
    if stdin:
        os.write(leader, stdin.encode())
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    os.close(leader)
    err = proc.stderr.read().decode() if proc.stderr else ""
    screen = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return Run(code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", screen), err)
