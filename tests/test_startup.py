"""Start-up stays lean: `reader --version` imports no CLI, a fetch loads no Apprise (times: benchmarks)."""

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


def test_the_fetch_pipeline_imports_apprise_only_to_check_or_send():
    """A warm fetch sends nothing: the CLI and the pipeline load without Apprise (~0.1 s)."""
    code = ("import sys, reader.cli, reader.ingest, reader.health; "
            "print(sorted(m for m in sys.modules if 'apprise' in m))")
    assert _printed(code) == "[]\n"


def test_an_index_worker_loads_neither_the_store_nor_package_metadata():
    """A worker building segments imports the segment writer only (~25 ms of CPU less per worker)."""
    code = ("import sys, reader.pool_tasks, reader.index.segments; "
            "print(sorted(m for m in sys.modules if m == 'reader.store' or m == 'importlib.metadata'))")
    assert _printed(code) == "[]\n"


def _printed(code: str) -> str:
    """What `code` prints, run in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout
