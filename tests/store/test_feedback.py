"""The feedback stream against a real redis-server: labels go in and come back out, oldest first, whole."""

from __future__ import annotations

import csv
import io
import re

import pytest
import redis

from service.keys import Keys
from service.store.feedback import CSV_COLUMNS, Feedback, FeedbackStore, write_csv

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def store(redis_client: redis.Redis, keys: Keys) -> FeedbackStore:
    return FeedbackStore(redis_client, keys)


def _label(index: int, **fields: object) -> Feedback:
    defaults: dict[str, object] = {
        "text": f"comment {index}",
        "attribute": "TOXICITY",
        "value": 0.5,
        "source": "suggestscore",
    }
    return Feedback(**{**defaults, **fields})  # type: ignore[arg-type]


def test_round_trip_keeps_every_field(store: FeedbackStore, redis_client: redis.Redis, keys: Keys) -> None:
    entry = Feedback(
        text='Quotes "and" commas, a newline\nand ünïcödé 🔪',
        attribute="PROFANITY",
        value=0.75,
        source="suggestscore",
        community_id="Coral:https://news.example",
        client_token="comment:42",
        comment_id="42",
        created_at="2026-01-02T03:04:05.678Z",
    )
    store.add([entry])
    assert list(store.export()) == [entry]
    assert redis_client.xlen(keys.feedback()) == 1  # under the key keys.py names


def test_absent_fields_come_back_as_none_and_the_time_is_stamped(store: FeedbackStore) -> None:
    store.add([_label(1, community_id="", value=0.0)])
    (entry,) = store.export()
    assert (entry.community_id, entry.client_token, entry.comment_id) == ("", None, None)
    assert entry.value == 0.0
    assert RFC3339.match(entry.created_at), entry.created_at


def test_export_is_oldest_first_across_calls(store: FeedbackStore) -> None:
    store.add([_label(1), _label(2)])
    store.add([_label(3, source="queue", attribute="insult", value=1.0)])
    assert [e.text for e in store.export()] == ["comment 1", "comment 2", "comment 3"]


def test_export_pages_through_a_long_stream(store: FeedbackStore) -> None:
    entries = [_label(i, value=i / 2500, created_at=f"2026-01-01T00:00:{i % 60:02}.000Z") for i in range(2500)]
    store.add(entries)
    # More than the default page of 1000, small pages, and pages that end exactly on the last entry.
    assert list(store.export()) == entries
    assert list(store.export(chunk=7)) == entries
    assert list(store.export(chunk=500)) == entries


def test_add_nothing_and_export_an_empty_stream(store: FeedbackStore) -> None:
    store.add([])
    assert list(store.export()) == []


def test_add_to_waits_for_the_callers_transaction(store: FeedbackStore, redis_client: redis.Redis, keys: Keys) -> None:
    with redis_client.pipeline(transaction=True) as pipe:
        store.add_to(pipe, [_label(1, source="queue")])
        assert list(store.export()) == []
        pipe.execute()
    assert [e.source for e in store.export()] == ["queue"]
    with redis_client.pipeline(transaction=True) as pipe:
        store.add_to(pipe, [_label(2)])
        pipe.reset()  # abandoned: nothing written
    assert redis_client.xlen(keys.feedback()) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value": 1.5}, "in \\[0, 1\\]"),
        ({"value": -0.1}, "in \\[0, 1\\]"),
        ({"value": float("nan")}, "in \\[0, 1\\]"),
        ({"source": "elsewhere"}, "source"),
    ],
)
def test_a_label_out_of_range_is_refused_where_it_is_made(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _label(1, **fields)


def test_write_csv_has_the_header_and_empty_cells_for_none() -> None:
    handle = io.StringIO(newline="")
    entries = [_label(1, comment_id="c1", created_at="2026-01-02T03:04:05.678Z"), _label(2, text='a, "b"\nc')]
    assert write_csv(entries, handle) == 2
    rows = list(csv.reader(io.StringIO(handle.getvalue(), newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert CSV_COLUMNS == (
        "text", "attribute", "value", "source", "community_id", "client_token", "comment_id", "created_at", "site",
    )  # fmt: skip
    assert rows[1] == ["comment 1", "TOXICITY", "0.5", "suggestscore", "", "", "c1", "2026-01-02T03:04:05.678Z", ""]
    assert rows[2][0] == 'a, "b"\nc'
