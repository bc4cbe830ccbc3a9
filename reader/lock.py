"""The single-writer lock: only one process ingests (writes the store and the index) at a time.

It never waits longer than asked: a lock held elsewhere is `WriterBusy`, naming the holder's pid."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

HANDED_OVER = "READER_WRITER_LOCK_FD"  # the environment's note of a lock held across an exec of this process


class WriterBusy(Exception):
    """Another reader process holds the writer lock (`pid`, when it wrote it; `daemon`: a running daemon)."""

    def __init__(self, message: str, pid: int | None = None, daemon: bool = False):
        super().__init__(message)
        self.pid, self.daemon = pid, daemon


class WriterLock:
    """An exclusive `flock` on a file in the data dir; released by the OS if the process dies.

    The holder's pid is written into the file so the message can name it, and whether it is a daemon
    (which never "finishes": the message says it refreshes the feeds itself).
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0, *, daemon: bool = False) -> None:
        """Take the lock, waiting up to `wait` seconds; raises WriterBusy after that. `daemon`: the holder is a
        long-running daemon."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = _handed_over(self.path)
        if fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder, is_daemon = _read_holder(fd)
                    os.close(fd)
                    who = f" (pid {holder})" if holder else ""
                    if is_daemon:
                        raise WriterBusy(f"the reader daemon{who} is running and refreshes the feeds itself; stop it "
                                         "first to do this by hand", holder, daemon=True) from None  # fmt: skip
                    raise WriterBusy(
                        f"another reader process{who} is fetching or indexing; try again when it finishes", holder
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}{' daemon' if daemon else ''}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def hand_over(self) -> None:
        """Keep the lock through an exec of this process (a daemon's restart): the new image's `acquire` takes
        it up, so no other writer can slip in between."""
        if self._fd is not None:
            os.set_inheritable(self._fd, True)
            os.environ[HANDED_OVER] = str(self._fd)

    def is_held_elsewhere(self) -> bool:
        """True when some other process holds the lock (e.g. a running daemon)."""
        if self._fd is not None or not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def held_by_daemon(self) -> bool:
        """True when a running daemon holds the lock (it picks up a feed added meanwhile by itself)."""
        if not self.is_held_elsewhere():
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            return _read_holder(fd)[1]
        finally:
            os.close(fd)

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _handed_over(path: Path) -> int | None:
    """The descriptor of the lock file this image was handed over by the one before the exec, if any."""
    try:
        fd = int(os.environ.pop(HANDED_OVER, ""))
        held, named = os.fstat(fd), os.stat(path)
    except (ValueError, OSError):
        return None
    if (held.st_dev, held.st_ino) != (named.st_dev, named.st_ino):
        return None
    os.set_inheritable(fd, False)
    return fd


def _read_holder(fd: int) -> tuple[int | None, bool]:
    """(pid, is a daemon) as the holder wrote them: "1234" or "1234 daemon"."""
    try:
        words = os.pread(fd, 64, 0).split()
        return (int(words[0]) if words else None), words[1:2] == [b"daemon"]
    except (OSError, ValueError):
        return None, False
