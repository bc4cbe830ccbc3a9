"""The process pool for CPU-bound steps (parsing, extraction, index building, rule matching).

Its workers must never be forked, nor outlive the process that made them.

Workers are spawned, not forked: they never inherit a lock held by one of the
caller's threads (the TUI and the HTTP client run threads), and their parent
is the caller itself, so each can ask the kernel to end it when the caller
dies, even by `kill -9`: no worker is ever left behind.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _init_worker() -> None:
    """Leave Ctrl-C to the main process, and never outlive it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # Linux: the kernel sends SIGTERM when the parent dies
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(0)


def process_pool(workers: int = 2) -> ProcessPoolExecutor:
    """A pool of `workers` spawned processes, tied to this one's life."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker)  # fmt: skip
