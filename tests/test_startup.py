"""Start-up stays lean: `reader --version` answers without importing the CLI (its time is in benchmarks)."""

from __future__ import annotations

import subprocess
import sys

from reader.config import VERSION


def test_version_answers_without_importing_the_cli():
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "reader", "--version"], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0
    assert done.stdout == f"reader {VERSION}\n"
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "reader.launch" in imported
    assert not {"reader.cli", "reader.config", "rich", "aiohttp"} & imported
