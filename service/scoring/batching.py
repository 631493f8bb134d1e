"""Dynamic batching: texts from concurrent requests of one process are scored together.

One scoring thread per process takes whatever has queued up and scores it in one
model call. On an idle service a request is scored at once: it never waits for a batch
to fill. Under load (requests arrived while the last batch ran) the thread waits up to
`max_wait` seconds for more company, up to `max_batch` texts. Each request gets its
own slice of the results; when a batch fails, its requests are scored one by one so that
only the one at fault gets the error. No request waits forever: whatever a model call raises
settles every request of its batch, the thread survives it, and a request that waits longer
than `timeout` seconds (a model call that never returns) gets `TimeoutError`.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(eq=False)  # by identity: a timed-out request takes its own job, not an equal one, out of the queue
class _Job(Generic[In, Out]):
    items: Sequence[In]
    future: Future[list[Out]] = field(default_factory=Future)


class Batcher(Generic[In, Out]):
    def __init__(
        self,
        score: Callable[[list[In]], list[Out]],
        max_batch: int = 32,
        max_wait: float = 0.002,
        timeout: float | None = None,
    ) -> None:
        self._score = score
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.timeout = timeout
        self._reset()
        # A preloaded gunicorn master forks its workers: a child has none of its parent's threads, so their jobs,
        # the batch in progress and a lock one of them held are not its own. (Weak: the hook outlives this object.)
        reset = weakref.WeakMethod(self._reset)
        os.register_at_fork(after_in_child=lambda: _call_if_alive(reset))

    def _reset(self) -> None:
        self._pending: list[_Job[In, Out]] = []
        self._changed = threading.Condition()
        self._scoring = False
        self._scoring_since = 0.0
        self._arrived_while_scoring = False
        self._thread: threading.Thread | None = None

    def submit(self, items: Sequence[In]) -> list[Out]:
        """Score `items` in some batch; their results in order, that batch's error, or `TimeoutError`."""
        if not items:
            return []
        job: _Job[In, Out] = _Job(items)
        with self._changed:
            self._ensure_thread()
            self._pending.append(job)
            self._arrived_while_scoring |= self._scoring
            self._changed.notify()
        try:
            return job.future.result(timeout=self.timeout)
        except TimeoutError:
            with self._changed:
                if job in self._pending:  # not taken yet: no model time for a request nobody waits for
                    self._pending.remove(job)
            raise

    def busy_for(self) -> float:
        """Seconds the model call in progress has run; 0 when none runs."""
        with self._changed:
            return time.monotonic() - self._scoring_since if self._scoring else 0.0

    def _ensure_thread(self) -> None:
        # Started lazily, so a preloading master that never scores has no thread to fork.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="scoring-batcher", daemon=True)
            self._thread.start()

    def _queued(self) -> int:
        return sum(len(job.items) for job in self._pending)

    def _take(self) -> list[_Job[In, Out]]:
        with self._changed:
            taken: list[_Job[In, Out]] = []
            while not taken:  # requests that time out while it waits for company take themselves away
                taken = self._gather()
            self._scoring = True
            self._scoring_since = time.monotonic()
            self._arrived_while_scoring = False
            return taken

    def _gather(self) -> list[_Job[In, Out]]:
        """Called holding the lock."""
        while not self._pending:
            self._changed.wait()
        if self._arrived_while_scoring:
            deadline = time.monotonic() + self.max_wait
            while self._queued() < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        taken: list[_Job[In, Out]] = []
        size = 0
        # Whole requests only; one request larger than max_batch goes alone.
        while self._pending and (not taken or size + len(self._pending[0].items) <= self.max_batch):
            job = self._pending.pop(0)
            taken.append(job)
            size += len(job.items)
        return taken

    def _score_checked(self, items: list[In]) -> list[Out]:
        results = self._score(items)
        if len(results) != len(items):
            raise RuntimeError(f"scorer returned {len(results)} results for {len(items)} texts")
        return results

    def _run(self) -> None:
        while True:
            jobs = self._take()
            try:
                self._settle(jobs)
            except BaseException as exc:  # the thread outlives anything, and leaves no request waiting
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(_as_exception(exc))
            finally:
                with self._changed:
                    self._scoring = False

    def _settle(self, jobs: list[_Job[In, Out]]) -> None:
        try:
            results = self._score_checked([item for job in jobs for item in job.items])
        except BaseException:
            # Score each request alone, so that only the one that fails gets an error.
            for job in jobs:
                try:
                    job.future.set_result(self._score_checked(list(job.items)))
                except BaseException as exc:
                    job.future.set_exception(_as_exception(exc))
        else:
            start = 0
            for job in jobs:
                job.future.set_result(results[start : start + len(job.items)])
                start += len(job.items)


def _call_if_alive(method: weakref.WeakMethod[Callable[[], None]]) -> None:
    bound = method()
    if bound is not None:
        bound()


def _as_exception(exc: BaseException) -> Exception:
    """What a waiting request raises: an `Exception`, never a `SystemExit` or the like loose in a request thread."""
    return exc if isinstance(exc, Exception) else RuntimeError(f"scoring failed: {exc!r}")
