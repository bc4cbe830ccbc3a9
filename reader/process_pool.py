"""The process pool for CPU-bound steps (parsing, extraction, index building, rule matching), and CPU limits.

Its workers must never be forked, nor outlive the process that made them.

Workers are spawned, not forked: they never inherit a lock held by one of the
caller's threads (the TUI and the HTTP client run threads). Each watches the
caller's process and ends when it does, even by `kill -9`: no worker is ever
left behind. (Not by PR_SET_PDEATHSIG: that fires when the *thread* that
spawned the worker ends, and a pool spawns workers from whichever thread
submits, e.g. one of asyncio's `to_thread` threads, which end with the event
loop: a worker killed while it held the task queue's lock left the others
blocked on it and the pool's shutdown hung.) Workers start on the first task,
not with the pool: a run with nothing to parse spawns none; a caller sure to
have tasks starts them early (`WorkerPool.warm`).

A task on untrusted input runs under `cpu_limit`: past its CPU seconds it is
interrupted (CpuLimitExceeded); if it is stuck in C code and cannot be, the
kernel ends the worker a little later (RLIMIT_CPU), and `WorkerPool` replaces
the broken pool so the run goes on.
"""

from __future__ import annotations

import math
import os
import resource
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded with the first workers: a run with no CPU work starts none (start-up time)
    from concurrent.futures import ProcessPoolExecutor

KILL_GRACE_SECONDS = 3  # CPU seconds past the limit before the kernel ends a worker stuck in C code


def _init_worker(parent: int) -> None:
    """Leave Ctrl-C to the main process, and never outlive it (`parent`: its pid)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(parent,), name="end-with-parent", daemon=True).start()


def _end_with(parent: int) -> None:
    """End this worker as soon as the `parent` process ends (the process, whichever of its threads spawned us)."""
    try:
        ended = os.pidfd_open(parent)  # readable once the process has ended (Linux 5.3+)
    except (AttributeError, OSError):
        ended = None
    if os.getppid() == parent:  # (checked after opening: the pid is the parent's, not a reused one)
        if ended is not None:
            select.select([ended], [], [])
        else:
            while os.getppid() == parent:
                time.sleep(1)
    os._exit(0)


def process_pool(workers: int = 2) -> ProcessPoolExecutor:
    """A pool of `workers` spawned processes, tied to this one's life."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))  # fmt: skip


class WorkerPool(Executor):
    """A process pool that replaces itself when a worker dies (a CPU limit reached in C code, the OOM
    killer): the tasks in flight then fail with BrokenProcessPool, and later ones run on new workers.
    `replace=False`: later ones fail with BrokenProcessPool too (workers holding state that a new one lacks)."""

    def __init__(self, workers: int = 2, *, replace: bool = True):
        self.workers = workers
        self.replace = replace
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        self._warmed = False
        self.ended: int | None = None  # the exit code of the worker whose end broke the last pool (-N: signal N)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            if self._pool is None:
                self._pool = process_pool(self.workers)
            return self._pool

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        from concurrent.futures.process import BrokenProcessPool

        pool = self._current()
        try:
            return pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            if not self.replace:
                raise
            self._replace(pool)
            return self._current().submit(fn, *args, **kwargs)

    def warm(self, fn: Callable[[], object]) -> None:
        """Start every worker now, each running `fn` first (its imports), for a caller sure to give them work:
        they start beside what the caller does meanwhile, not when its first task comes. Once a pool."""
        if not self._warmed:
            self._warmed = True
            for _ in range(self.workers):
                self.submit(fn)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        ended = _exit_code(broken)
        with self._lock:
            if self._pool is broken:
                self._pool, self.ended = None, ended
        broken.shutdown(wait=False, cancel_futures=True)

    def replace_if_broken(self) -> int | None:
        """After a task failed with BrokenProcessPool: new workers for what comes next. Returns how the worker
        that broke the pool ended (`ended`), for the error: its CPU limit (SIGXCPU), or something else."""
        with self._lock:
            pool = self._pool
        if pool is not None and getattr(pool, "_broken", False):
            self._replace(pool)
        return self.ended

    def terminate(self) -> None:
        """End the workers now, whatever they are doing (a stop): their tasks fail with BrokenProcessPool,
        and the pool takes no more."""
        with self._lock:
            self._closed, pool, self._pool = True, self._pool, None
        if pool is None:
            return
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed, pool, self._pool = True, self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def _exit_code(broken: ProcessPoolExecutor) -> int | None:
    """The exit code of a worker that ended on its own (not by the SIGTERM the broken pool sends the others)."""
    from multiprocessing.connection import wait

    try:
        processes = list((getattr(broken, "_processes", None) or {}).values())
        ended = set(wait([p.sentinel for p in processes], timeout=0)) if processes else set()
        deadline = time.monotonic() + 1
        for process in processes:  # (reaped a moment after its end shows, by this thread or the pool's)
            while process.sentinel in ended and process.exitcode is None and time.monotonic() < deadline:
                time.sleep(0.005)
        codes = [p.exitcode for p in processes if p.exitcode is not None]
    except (OSError, ValueError):  # (a process closed meanwhile) unknown: the error says less, never fails
        return None
    return next((c for c in codes if c != -signal.SIGTERM), codes[0] if codes else None)


def how_ended(exit_code: int) -> str:
    """'exit code 3', 'killed by SIGKILL'."""
    if exit_code >= 0:
        return f"exit code {exit_code}"
    try:
        return f"killed by {signal.Signals(-exit_code).name}"
    except ValueError:
        return f"killed by signal {-exit_code}"


# -- CPU limits, inside a worker -------------------------------------------------------


class CpuLimitExceeded(BaseException):
    """A task used up its CPU seconds. A BaseException, so libraries' `except Exception` cannot swallow it."""


_armed = False  # a timer signal arriving as the block ends must not raise in its clean-up


def _interrupt(_signum, _frame) -> None:
    if _armed:
        raise CpuLimitExceeded


@contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    """Raise CpuLimitExceeded in the block once this process has spent `seconds` of CPU in it.

    The interval timer counts CPU time (ITIMER_PROF), not wall time, so a busy
    machine never trips it. Code stuck in one C call is not interrupted until
    it returns: for that, RLIMIT_CPU ends the process KILL_GRACE_SECONDS later
    (SIGXCPU), and the parent's WorkerPool starts new workers. Off the main
    thread (a thread pool standing in for the workers) there is no limit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGPROF, _interrupt)
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    backstop = math.ceil(usage.ru_utime + usage.ru_stime + seconds + KILL_GRACE_SECONDS)
    if hard == resource.RLIM_INFINITY or backstop < hard:
        resource.setrlimit(resource.RLIMIT_CPU, (backstop, hard))
    global _armed
    _armed = True
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        _armed = False
        signal.setitimer(signal.ITIMER_PROF, 0)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        signal.signal(signal.SIGPROF, previous)
