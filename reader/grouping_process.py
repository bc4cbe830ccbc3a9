"""A large run's grouping passes in a process of its own, fed the parse workers' story features as they come.

It only moves `ingest.group_stories` to another process; it never decides anything about stories.

Grouping is the main process's largest CPU cost in a large run (a first fetch of hundreds of feeds), and the
main process also fetches and stores: in a thread there, it held the GIL against the event loop and left the
workers waiting. In its own process it runs beside both. Its passes are the run's (`ingest._Run.group`: one
at a time, never while matching), and it is the stories' only writer meanwhile, so what its passes read
(`StoryMemo`) lasts from one pass to the next. The features the parse workers made are forwarded through a
pipe as each feed is stored, and a thread of the process takes them in while a pass runs: an article stored
during a pass is grouped with its features too, as in a thread of the main process. Each chunk of a pass is
saved in a transaction of its own (`group_stories`), so ending the process at any moment loses nothing. It is
never replaced: once it dies (or fails to start), its passes fail with BrokenProcessPool and the run makes the
rest in the main process.
"""

from __future__ import annotations

import gc
import pickle
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from .process_pool import WorkerPool

if TYPE_CHECKING:  # multiprocessing loads only with a process (a fetch bringing nothing loads none)
    from multiprocessing.connection import Connection


class GroupingProcess:
    """The main process's side: `forward` features, `submit` passes, `close` at the end of the run."""

    def __init__(self, db_path: Path):
        import multiprocessing

        self._pool = WorkerPool(1, replace=False)  # a new process would lack `_start`'s state: a death is final
        receive, self._send = multiprocessing.Pipe(duplex=False)
        self._started = self._pool.submit(_start, str(db_path), receive)
        self._started.add_done_callback(lambda _: receive.close())  # (the process holds its own copy now)
        self._sender = ThreadPoolExecutor(1, thread_name_prefix="features")  # sends in order, off the event loop
        self._sent = 0  # batches of features forwarded

    def forward(self, features: dict[bytes, bytes]) -> None:
        """Hand the process story features (`pool_tasks.story_features`), for this pass or a later one."""
        if features:
            self._sent += 1
            self._sender.submit(_send, self._send, pickle.dumps(features, pickle.HIGHEST_PROTOCOL))

    def start_cpu(self) -> float:
        """CPU seconds the process spent starting (the interpreter, its imports, the store), once started."""
        done = self._started.done() and self._started.exception() is None
        return self._started.result() if done else 0.0

    def submit(self, final: bool) -> Future:
        """A pass (`ingest.group_stories`, `final`: also what waits for its page), with every feature forwarded
        so far: (articles grouped, CPU seconds)."""
        return self._pool.submit(_pass, final, self._sent)

    def close(self) -> None:
        """End the process now (idle at the end of a run; a stopped run's pass loses only its open chunk).
        The process first: a send under way then fails at once, and the pipe is closed with no send under way."""
        self._pool.terminate()
        self._sender.shutdown(wait=True, cancel_futures=True)
        self._send.close()


def _send(conn: Connection, data: bytes) -> None:
    try:
        conn.send_bytes(data)
    except OSError:  # the process ended (closed, or died: the run groups what is left itself)
        pass


# -- in the grouping process -------------------------------------------------------------------

_state: dict = {}  # the run's store, what its passes read of it (`StoryMemo`), the features taken in
_taken = threading.Condition()  # notified as each batch of features is taken in
TAKE_IN_SECONDS = 10.0  # a pass waits this long at most for the features sent before it (else it reads words)


def _start(db_path: str, features: Connection) -> float:
    """Open the store, load the grouper (beside the run's first fetches) and take in features as they come;
    the CPU seconds spent since the process began."""
    from .ingest import group_stories  # noqa: F401 - its imports now, not at the first pass
    from .store import Store
    from .store.stories import StoryMemo

    gc.set_threshold(20_000, *gc.get_threshold()[1:])  # few collections, as the main's run (`fewer_collections`)
    known: dict[bytes, bytes] = {}
    _state.update(store=Store(db_path), memo=StoryMemo(), known=known, taken=0)

    def take_in() -> None:
        try:
            while True:
                batch = pickle.loads(features.recv_bytes())  # noqa: S301 - from our own main process
                with _taken:
                    known.update(batch)
                    _state["taken"] += 1
                    _taken.notify_all()
        except (EOFError, OSError):  # the run closed the pipe
            pass

    threading.Thread(target=take_in, name="features", daemon=True).start()
    return time.process_time()


def _pass(final: bool, sent: int) -> tuple[int, float]:
    from .ingest import group_stories

    if "taken" not in _state:  # `_start` failed: a pass cannot run here (the run makes its passes itself)
        from concurrent.futures.process import BrokenProcessPool

        raise BrokenProcessPool("the grouping process did not start")
    start = time.process_time()
    with _taken:  # (those forwarded while it runs are taken in meanwhile: the articles stored meanwhile use them)
        _taken.wait_for(lambda: _state["taken"] >= sent, timeout=TAKE_IN_SECONDS)
    grouped = group_stories(_state["store"], ready=not final, known=_state["known"], memo=_state["memo"])
    return grouped, time.process_time() - start
