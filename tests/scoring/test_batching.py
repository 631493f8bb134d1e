"""The dynamic batcher: concurrent requests share model calls, each gets its own answer, none waits when idle."""

from __future__ import annotations

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
    outcomes: dict[str, object] = {}

    def request(name: str, items: list[int]) -> None:
        try:
            outcomes[name] = batcher.submit(items)
        except ValueError as exc:
            outcomes[name] = exc

    warm = threading.Thread(target=request, args=("warm", [0]))  # keeps the batcher busy so the others batch up
    warm.start()
    time.sleep(0.005)
    threads = [
        threading.Thread(target=request, args=("good", [1, 2])),
        threading.Thread(target=request, args=("bad", [5, -1])),
        threading.Thread(target=request, args=("also good", [3])),
    ]
    for thread in threads:
        thread.start()
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
