"""The run's worker threads: started up front, never joined at exit.

``concurrent.futures.ThreadPoolExecutor`` starts a thread at each of the first
submissions (late, while the event loop is busy starting the other checks) and
joins every one of its threads when the interpreter exits, even after
``shutdown(wait=False)``: one worker stuck in a library call that ignores the
cancel token would hold the process past its deadline. These threads are
daemons, started together when the run begins (one per check that may
need one), and :meth:`shutdown` only tells them to stop: the process ends
when the run has its results.
"""

from __future__ import annotations

import _thread
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

_STOP = None  # what a worker takes from the queue to end


class WorkerPool(Executor):
    """Up to ``workers`` daemon threads sharing one queue of calls; ``start`` of them
    begin at once, more only when a call finds none idle (a thread a cut-off
    check left behind is still busy until its own deadline)."""

    def __init__(self, workers: int, start: int | None = None) -> None:
        self._calls: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._most = max(1, workers)
        self._count = self._idle = 0  # threads started, threads waiting for a call
        self._lock = threading.Lock()
        self._done = threading.Semaphore(0)  # released by each thread as it ends
        self._closed = False
        for _ in range(min(self._most, self._most if start is None else max(1, start))):
            self._spawn()

    def _spawn(self) -> None:
        # _thread, not threading.Thread: start() waits for each new thread to run
        # (0.6 ms each, 40 ms for 64 here; this is 8 ms), and threading's exit joins
        # every non-daemon thread. A bare thread is a daemon: never waited for.
        with self._lock:
            self._idle += 1
            self._count += 1
        _thread.start_new_thread(self._work, ())

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:
            raise RuntimeError("the run's worker pool is shut down")
        future: Future[Any] = Future()
        with self._lock:
            grow = self._idle <= self._calls.qsize() and self._count < self._most
        if grow:
            self._spawn()
        self._calls.put((future, lambda: fn(*args, **kwargs)))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking calls; with ``cancel_futures`` the queued ones are cancelled.
        Running calls end on the run's cancel token or their own deadline; ``wait``
        joins the threads (a test's clean-up), the runner never does."""
        self._closed = True
        if cancel_futures:
            while True:
                try:
                    item = self._calls.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        with self._lock:
            count = self._count
        for _ in range(count):
            self._calls.put(_STOP)
        if wait:
            for _ in range(count):
                self._done.acquire()

    def _work(self) -> None:
        while (item := self._calls.get()) is not _STOP:
            with self._lock:
                self._idle -= 1
            try:
                _call(*item)
            finally:
                del item  # drop references before waiting again
                with self._lock:
                    self._idle += 1
        self._done.release()


def _call(future: Future[Any], call: Callable[[], Any]) -> None:
    if not future.set_running_or_notify_cancel():
        return  # cancelled while queued
    try:
        result = call()
    except BaseException as exc:  # handed to the awaiting prober, as the stdlib pool does
        future.set_exception(exc)
    else:
        future.set_result(result)
