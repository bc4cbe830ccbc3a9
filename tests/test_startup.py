"""Start-up stays lean: `reader --version` imports no CLI, a fetch loads no Apprise (times: benchmarks)."""

from __future__ import annotations

import os
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


def _printed(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    """What `code` prints, run in a fresh interpreter (with `args` and `env`, if given)."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _commands(parser) -> set[str]:
    (sub,) = [a for a in parser._actions if a.dest == "command"]  # (argparse keeps them here)
    return set(sub.choices)


def test_a_command_builds_its_own_parser_only_and_help_lists_every_command():
    from reader import cli

    everything = _commands(cli.build_parser([]))
    assert everything == {name for module in cli.COMMAND_MODULES for name in module.COMMANDS}
    assert {"fetch", "feeds", "search", "show", "export"} <= everything
    for module in cli.COMMAND_MODULES:
        for name in module.COMMANDS:
            assert _commands(cli.build_parser(["--data-dir", "d", name, "--help"])) == set(module.COMMANDS)
    assert _commands(cli.build_parser(["--data-dir=d", "--debug", "fetch"])) == {"fetch"}
    for unplain in (["--help"], ["--data", "d", "fetch"], ["fetch-all"], ["--", "fetch"]):
        assert _commands(cli.build_parser(unplain)) == everything


def test_a_fetch_that_brings_nothing_loads_no_rich_toml_or_multiprocessing(tmp_path):
    """A fetch with nothing to parse or print in colour (`--json`, the daemon's way) stays lean: no Rich, no
    multiprocessing, no TOML reader without a settings file (each a few ms of every run)."""
    code = ("import runpy, sys; sys.argv = ['reader', '--data-dir', sys.argv[1], 'fetch', '--json']\n"
            "try:\n    runpy.run_module('reader', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'multiprocessing', 'tomllib'}))")
    env = {**os.environ, "READER_CONFIG_DIR": str(tmp_path / "config"), "READER_RULES_DIR": str(tmp_path / "rules")}
    assert _printed(code, str(tmp_path / "data"), env=env).endswith("[]\n")
