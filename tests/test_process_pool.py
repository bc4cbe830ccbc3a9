"""The worker pool's processes: they live as long as the process that made them, not as long as the thread that
happened to spawn them, and never longer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from reader.process_pool import process_pool
from tests.test_daemon import wait_for


def test_a_worker_spawned_by_a_thread_that_ends_keeps_working():
    pool = process_pool(2)
    try:
        assert pool.submit(os.getpid).result()  # one worker, idle
        busy = pool.submit(time.sleep, 1)  # it is busy: a task submitted now spawns the second worker
        spawner = threading.Thread(target=lambda: pool.submit(os.getpid).result())  # as asyncio.to_thread does
        spawner.start()
        spawner.join()
        # were the second worker tied to the thread (PR_SET_PDEATHSIG), it ended with it, the pool broke, `busy` failed
        assert busy.result() is None
        assert pool.submit(os.getpid).result()
    finally:
        pool.shutdown()


CALLER = """
import os, threading
from reader.process_pool import process_pool
pool = process_pool(2)
busy = pool.submit(os.getpid)
got = []
thread = threading.Thread(target=lambda: got.append(pool.submit(os.getpid).result()))  # the thread that spawns ends
thread.start()
thread.join()
print(busy.result(), flush=True)  # both from this thread: two threads' prints could interleave
print(got[0], flush=True)
threading.Event().wait()
"""


def ended(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in "ZX"  # a zombie has ended
    except FileNotFoundError:
        return True


def test_workers_end_when_their_caller_is_killed_9():
    caller = subprocess.Popen([sys.executable, "-c", CALLER], stdout=subprocess.PIPE, text=True)
    try:
        workers = {int(caller.stdout.readline()), int(caller.stdout.readline())}
        assert caller.pid not in workers and not any(ended(pid) for pid in workers)
    finally:
        caller.send_signal(signal.SIGKILL)
        caller.wait()
    wait_for(lambda: all(ended(pid) for pid in workers), "the workers to end with their caller")


def test_a_run_reading_a_feed_for_the_first_time_starts_its_workers_before_any_task():
    from reader import pool_tasks
    from reader.models import Feed
    from reader.process_pool import WorkerPool
    from reader.store import utcnow

    read = Feed(1, "http://127.0.0.1/a.xml", "a", "", last_fetched_at=utcnow())
    new = Feed(2, "http://127.0.0.1/b.xml", "b", "")

    def processes(pool: WorkerPool) -> int:
        return len(getattr(pool._pool, "_processes", None) or {})

    pool = WorkerPool(2)
    try:
        assert pool_tasks.start_for(pool, [read]) == 0 and processes(pool) == 0  # (a warm fetch spawns none)
        assert pool_tasks.start_for(pool, [read, new]) == 1 and processes(pool) == 2  # both, with no task yet
        pool_tasks.start_for(pool, [new])
        assert processes(pool) == 2  # once
        assert pool.submit(os.getpid).result() != os.getpid()
    finally:
        pool.shutdown()
