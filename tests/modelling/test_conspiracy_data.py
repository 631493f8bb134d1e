"""The conspiracy sources: labels, PAN's detokenisation, splits and the project's test sentences kept out."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelling.conspiracy_data import (
    DEFAULT_SOURCES,
    SOURCES,
    detokenize,
    missing_files,
    ordinary_comments,
    read_source,
)
from modelling.toxicity_data import text_key
from tests.tiny_datasets import write_tiny_conspiracy_datasets, write_tiny_datasets


@pytest.fixture
def datasets(tmp_path: Path) -> Path:
    return write_tiny_conspiracy_datasets(tmp_path, rows=40)


@pytest.mark.parametrize(
    ("tokenised", "written"),
    [
        ("They do n't want you to know .", "They don't want you to know."),
        ("\u201c I \u2019m concerned . \u201d ( R - Texas )", "\u201cI\u2019m concerned.\u201d (R - Texas)"),
        ("we 've seen it , it 's real", "we've seen it, it's real"),
        ("SHARE https :// t . me / LauraAbolichannel", "SHARE"),
        # A tokenised link has no end mark: the words joined to it by `/`, `.` or `-` go with it.
        ("read https :// site . org / a - b - c /", "read"),
        ("see www . example . com / page for more", "see for more"),
    ],
)
def test_pan_posts_are_detokenised_and_lose_their_links(tokenised: str, written: str) -> None:
    assert detokenize(tokenised) == written


def test_labels_of_both_sources(datasets: Path) -> None:
    psycomark, pan = (read_source(source, datasets, 1, 0.5, frozenset()) for source in DEFAULT_SOURCES)
    assert {r.label for r in psycomark} == {0.0, 0.5, 1.0}
    assert all(r.unsure == (r.label == 0.5) for r in psycomark)
    assert {r.label for r in pan} == {0.0, 1.0}
    assert not any("t . me" in r.text or "https" in r.text for r in pan)


def test_cant_tell_rows_can_be_dropped(datasets: Path) -> None:
    psycomark = read_source(SOURCES[0], datasets, 1, None, frozenset())
    assert {r.label for r in psycomark} == {0.0, 1.0}
    assert len(psycomark) == 30  # 40 rows, a quarter of them Can't tell


def test_splits_are_drawn_from_the_text_and_stable(datasets: Path) -> None:
    first = read_source(SOURCES[1], datasets, 7, None, frozenset())
    again = read_source(SOURCES[1], datasets, 7, None, frozenset())
    assert [r.split for r in first] == [r.split for r in again]
    assert {r.split for r in first} <= {"train", "validation", "test"}


def test_excluded_sentences_never_reach_training(datasets: Path) -> None:
    rows = read_source(SOURCES[0], datasets, 1, 0.5, frozenset())
    excluded = text_key(rows[0].text)
    assert all(r.text != rows[0].text for r in read_source(SOURCES[0], datasets, 1, 0.5, frozenset({excluded})))


def test_missing_files_are_named(tmp_path: Path) -> None:
    assert [p.name for p in missing_files(tmp_path)] == ["psycomark-conspiracy.csv", "pan2024-oppositional-en.csv"]


def test_ordinary_comments_are_negatives_drawn_from_the_reader_comment_files(datasets: Path) -> None:
    write_tiny_datasets(datasets)  # the toxicity datasets, where the reader comments are
    source = next(s for s in SOURCES if s.name == "ordinary-comments")
    assert source not in DEFAULT_SOURCES
    rows = read_source(source, datasets, 1, 0.5, frozenset())
    assert rows and {r.label for r in rows} == {0.0} and not any(r.unsure for r in rows)
    assert {text_key(r.text) for r in rows} <= {text_key(t) for t in ordinary_comments(datasets)}
    assert [r.text for r in read_source(source, datasets, 1, 0.5, frozenset())] == [r.text for r in rows]
