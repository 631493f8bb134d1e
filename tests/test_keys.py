"""Redis key names: all under the prefix, none shared by two different things."""

from __future__ import annotations

import pytest

from service.keys import Keys
from service.schemas import Status

STATUSES = [status.value for status in Status]
FLAGS = ["toxicity", "conspiracy", "insult"]
THREADS = ["thread-1", "thread-2", "southfront-isis-resurfaced-central-syria"]


def _all_keys(keys: Keys) -> list[str]:
    out = [keys.sequence(), keys.audit(), keys.feedback(), keys.rate_limit()]
    out += [keys.comment(comment_id) for comment_id in ("c1", "c2", "seed-c1")]
    out += [keys.verdict(fp, h) for fp in ("fp1", "fp2") for h in ("a" * 64, "b" * 64)]
    for status in STATUSES:
        out.append(keys.queue(status))
        out += [keys.queue_by_flag(status, flag) for flag in FLAGS]
        out += [keys.queue_by_thread(status, thread) for thread in THREADS]
    return out


@pytest.mark.parametrize("prefix", ["mod:", "test:", "e2e:", "t:"])
def test_every_key_starts_with_the_prefix(prefix: str) -> None:
    for key in _all_keys(Keys(prefix)):
        assert key.startswith(prefix), key
        assert len(key) > len(prefix)


def test_keys_are_distinct() -> None:
    keys = _all_keys(Keys("t:"))
    assert len(keys) == len(set(keys))


def test_distinct_per_status_flag_and_thread() -> None:
    keys = Keys("t:")
    assert len({keys.queue(s) for s in STATUSES}) == len(STATUSES)
    assert len({keys.queue_by_flag(s, f) for s in STATUSES for f in FLAGS}) == len(STATUSES) * len(FLAGS)
    assert len({keys.queue_by_thread(s, t) for s in STATUSES for t in THREADS}) == len(STATUSES) * len(THREADS)
    # The same name as a flag and as a thread are two different indexes.
    assert keys.queue_by_flag("pending", "toxicity") != keys.queue_by_thread("pending", "toxicity")
    assert keys.queue("pending") not in {keys.queue_by_flag("pending", f) for f in FLAGS}


def test_prefixes_separate_tenants() -> None:
    first, second = _all_keys(Keys("a:")), _all_keys(Keys("b:"))
    assert not set(first) & set(second)


def test_verdict_key_depends_on_fingerprint_and_hash() -> None:
    keys = Keys("t:")
    assert keys.verdict("fp1", "h1") != keys.verdict("fp2", "h1")
    assert keys.verdict("fp1", "h1") != keys.verdict("fp1", "h2")


def test_keys_are_deterministic() -> None:
    assert _all_keys(Keys("t:")) == _all_keys(Keys("t:"))
