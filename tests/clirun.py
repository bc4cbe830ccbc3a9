"""Run the real `reader` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
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
