"""The dynamic batcher: concurrent requests share model calls, each gets its own answer, none waits when idle."""

from __future__ import annotations

import os
import signal
import threading
import time

from service.scoring.batching import Batcher


class RecordingScorer:
    """Doubles each number; remembers the batches it was called with."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        if -1 in items:
            raise ValueError("cannot score -1")
        time.sleep(self.delay)
        return [2 * item for item in items]


def test_each_request_gets_its_own_results_in_order_and_load_forms_batches() -> None:
    scorer = RecordingScorer(delay=0.02)
    batcher = Batcher(scorer, max_batch=64, max_wait=0.005)
    results: dict[int, list[int]] = {}

    def request(n: int) -> None:
        results[n] = batcher.submit([n * 10 + k for k in range(3)])

    threads = [threading.Thread(target=request, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {n: [2 * (n * 10 + k) for k in range(3)] for n in range(24)}
    assert len(scorer.batches) < 24, "concurrent requests must share model calls"
    assert max(len(batch) for batch in scorer.batches) > 3
    assert sorted(item for batch in scorer.batches for item in batch) == sorted(
        n * 10 + k for n in range(24) for k in range(3)
    )


def test_a_single_request_on_an_idle_batcher_does_not_wait_for_company() -> None:
    # With a 30 s wait for company, a request that waited would still be blocked when the join gives up.
    batcher = Batcher(RecordingScorer(), max_batch=32, max_wait=30.0)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (batcher.submit([1]), done.set()))
    worker.start()
    worker.join(timeout=5)
    assert done.is_set()


def test_a_failing_request_gets_the_error_and_its_batch_mates_their_results() -> None:
    scorer = RecordingScorer(delay=0.02)
    batcher = Batcher(scorer, max_batch=32, max_wait=0.01)
    outcomes: dict[object, object] = {}

    warm = _submit_in_thread(batcher, [0], outcomes, "warm")  # keeps the batcher busy so the others batch up
    time.sleep(0.005)
    threads = [
        _submit_in_thread(batcher, [1, 2], outcomes, "good"),
        _submit_in_thread(batcher, [5, -1], outcomes, "bad"),
        _submit_in_thread(batcher, [3], outcomes, "also good"),
    ]
    for thread in [warm, *threads]:
        thread.join(timeout=10)
    assert outcomes["good"] == [2, 4]
    assert outcomes["also good"] == [6]
    assert isinstance(outcomes["bad"], ValueError)
    assert batcher.submit([4]) == [8], "the batcher goes on after a failure"


def test_batches_hold_whole_requests_up_to_the_maximum_and_a_larger_one_goes_alone() -> None:
    scorer = RecordingScorer()
    batcher = Batcher(scorer, max_batch=4, max_wait=0.0)
    assert batcher.submit(list(range(10))) == [2 * i for i in range(10)]
    assert scorer.batches == [list(range(10))]


def test_an_empty_request_needs_no_model_call() -> None:
    scorer = RecordingScorer()
    assert Batcher(scorer).submit([]) == []
    assert scorer.batches == []


class Interrupted(BaseException):
    """Not an `Exception`: what a model library could raise from deep inside, like `SystemExit`."""


def test_a_model_call_that_raises_a_base_exception_settles_its_request_and_the_batcher_goes_on() -> None:
    def score(items: list[int]) -> list[int]:
        if 7 in items:
            raise Interrupted
        return [2 * item for item in items]

    batcher = Batcher(score, timeout=10)
    try:
        batcher.submit([7])
    except RuntimeError as exc:
        assert "Interrupted" in str(exc)
    else:
        raise AssertionError("the request should get the failure")
    assert batcher.submit([4]) == [8], "the scoring thread survived"


def test_a_base_exception_in_one_request_of_a_batch_leaves_its_batch_mates_their_results() -> None:
    release = threading.Event()

    def score(items: list[int]) -> list[int]:
        if 0 in items:
            release.wait(10)  # holds the thread while the others queue up into one batch
        if 7 in items:
            raise Interrupted
        return [2 * item for item in items]

    batcher = Batcher(score, max_batch=32, max_wait=0.05, timeout=10)
    outcomes: dict[object, object] = {}

    threads = [_submit_in_thread(batcher, [0], outcomes, 0)]
    time.sleep(0.05)
    threads += [_submit_in_thread(batcher, [n], outcomes, n) for n in (1, 7, 3)]
    time.sleep(0.05)
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert outcomes[0] == [0] and outcomes[1] == [2] and outcomes[3] == [6]
    assert isinstance(outcomes[7], RuntimeError)


def test_requests_behind_a_model_call_that_never_returns_time_out_instead_of_hanging() -> None:
    stuck = threading.Event()
    scorer = RecordingScorer()

    def score(items: list[int]) -> list[int]:
        if 0 in items:
            stuck.wait(30)  # a model call that does not come back within the test
        return scorer(items)

    batcher = Batcher(score, timeout=0.2)
    outcomes: dict[object, object] = {}

    first = _submit_in_thread(batcher, [0], outcomes, 0)
    time.sleep(0.05)
    second = _submit_in_thread(batcher, [5], outcomes, 5)
    first.join(timeout=5)
    second.join(timeout=5)
    assert isinstance(outcomes[0], TimeoutError) and isinstance(outcomes[5], TimeoutError)
    stuck.set()
    batcher.timeout = 10  # the stuck call's thread still has to come back: no hurry on a busy machine
    assert batcher.submit([4]) == [8], "once the model call returns, the batcher goes on"
    assert all(5 not in batch for batch in scorer.batches), "a request that gave up waiting is not scored"


def test_a_child_forked_during_a_batch_scores_its_first_request_at_once() -> None:
    # A preloading gunicorn master forks its workers: a child must not inherit the parent's batch in progress,
    # or its first request on an idle service would wait the whole gathering time for company.
    scorer = RecordingScorer(delay=0.5)
    batcher = Batcher(scorer, max_batch=32, max_wait=30.0, timeout=20)
    busy = threading.Thread(target=batcher.submit, args=([1],))
    busy.start()
    time.sleep(0.1)  # the parent's batch is being scored
    child = os.fork()
    if child == 0:
        code = 1
        try:  # whatever happens, the child must not go on running the test suite
            started = time.monotonic()
            code = 0 if batcher.submit([3]) == [6] and time.monotonic() - started < 5 else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while (waited := os.waitpid(child, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    if waited == (0, 0):
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    busy.join(timeout=10)
    assert waited != (0, 0), "the child's first request hung"
    assert os.waitstatus_to_exitcode(waited[1]) == 0


def test_requests_that_time_out_while_the_batcher_gathers_company_leave_no_empty_model_call() -> None:
    release = threading.Event()
    scorer = RecordingScorer()

    def score(items: list[int]) -> list[int]:
        if 0 in items:
            release.wait(10)
        return scorer(items)

    batcher = Batcher(score, max_batch=32, max_wait=0.5, timeout=0.2)
    outcomes: dict[object, object] = {}
    first = _submit_in_thread(batcher, [0], outcomes, 0)
    time.sleep(0.05)
    # Arrives while a batch runs, so the batcher then waits 0.5 s for company, and gives up waiting after 0.2 s.
    late = _submit_in_thread(batcher, [5], outcomes, 5)
    time.sleep(0.05)
    release.set()
    late.join(timeout=5)
    first.join(timeout=5)
    time.sleep(0.6)  # past the gathering wait, in which [5] took itself away
    batcher.timeout = 10
    assert batcher.submit([4]) == [8]
    assert [] not in scorer.batches and all(5 not in batch for batch in scorer.batches)


def _submit_in_thread(
    batcher: Batcher[int, int], items: list[int], outcomes: dict[object, object], key: object
) -> threading.Thread:
    """A request in a thread of its own, started; its results, or the error it got, end up in `outcomes[key]`."""

    def request() -> None:
        try:
            outcomes[key] = batcher.submit(items)
        except Exception as exc:
            outcomes[key] = exc

    thread = threading.Thread(target=request)
    thread.start()
    return thread
