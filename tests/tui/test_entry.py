"""`reader` with no command: the TUI on a terminal, a clear error without one."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time

from tests.clirun import reader


def test_reader_without_a_terminal_says_how_to_use_it(world):
    run = reader(data=world.data_dir, config=world.config_dir)
    assert run.code == 2 and "needs a terminal" in run.err


def read_until(fd: int, needle: bytes, timeout: float = 30.0) -> bytes:
    """What the program wrote to the terminal, until `needle` appears."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never appeared; last output: {seen[-500:]!r}"
        if select.select([fd], [], [], left)[0]:
            seen += os.read(fd, 65536)
    return seen


def read_available(fd: int) -> bytes:
    """Whatever the program wrote within a moment (a terminal must be read, or the program blocks)."""
    try:
        return os.read(fd, 65536) if select.select([fd], [], [], 0.05)[0] else b""
    except OSError:  # the program has closed the terminal
        return b""


def exit_code(proc: subprocess.Popen, fd: int, timeout: float) -> int | None:
    """Wait for the program to end, reading what it writes meanwhile; None if it is still running."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        read_available(fd)
    return proc.poll()


def test_reader_on_a_terminal_opens_the_screen_and_Q_quits(world):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "READER_DATA_DIR": str(world.data_dir), "READER_CONFIG_DIR": str(world.config_dir),
           "TERM": "xterm-256color", "TZ": "UTC"}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "reader"], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    try:
        read_until(master, b"All articles")
        read_until(master, b"DeepSeek unveils")
        os.write(master, b"Q")
        assert exit_code(proc, master, timeout=30) == 0
        assert (world.rules_dir / "chip-export-controls.toml").exists(), "first run copies the example rules"
    finally:
        proc.kill()
        os.close(master)


def test_quitting_during_a_refresh_does_not_wait_for_it(world, http_server):
    from reader.store import Store

    slow = http_server.route("/slow.xml", "<rss/>", delay=120)  # answers long after the test is over
    Store(world.db_path).add_feed(slow, "Slow", "")
    world.config_dir.mkdir(parents=True, exist_ok=True)
    (world.config_dir / "config.toml").write_text("[fetch]\nread_timeout = 300\ntotal_timeout = 600\n")
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "READER_DATA_DIR": str(world.data_dir), "READER_CONFIG_DIR": str(world.config_dir),
           "TERM": "xterm-256color"}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "reader"], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    try:
        read_until(master, b"DeepSeek unveils")
        os.write(master, b"R")
        deadline = time.monotonic() + 30
        while not http_server.hits("/slow.xml"):  # the refresh is under way, waiting for the slow feed
            assert time.monotonic() < deadline, "the refresh never asked for the feed"
            read_available(master)
        os.write(master, b"Q")
        assert exit_code(proc, master, timeout=20) == 0, "quitting waited for the refresh"
    finally:
        proc.kill()
        os.close(master)


def test_reader_starts_without_colour_in_a_c_locale_and_writes_only_ascii(world):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 15, 60, 0, 0))
    env = {key: value for key, value in os.environ.items() if not key.startswith("LC_")}
    env |= {"READER_DATA_DIR": str(world.data_dir), "READER_CONFIG_DIR": str(world.config_dir),
            "TERM": "xterm", "TZ": "UTC", "NO_COLOR": "1", "LANG": "C"}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "reader"], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    try:
        seen = read_until(master, b"DeepSeek unveils")
        os.write(master, b"/")
        seen += read_until(master, b"search:")
        os.write(master, b"\x11")  # Ctrl+Q: the search box has the keys
        assert exit_code(proc, master, timeout=30) == 0
        assert seen.isascii(), seen[[b > 127 for b in seen].index(True) - 40 :][:80]
        assert b"Traceback" not in seen
    finally:
        proc.kill()
        os.close(master)
