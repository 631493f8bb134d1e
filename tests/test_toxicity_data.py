"""Reading the labeled toxicity sources: each category's label is what the raters said, masked where they said
nothing, and the project's own test sentences never reach training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.toxicity_data import CATEGORIES, SOURCES, Row, Source, missing_files, read_source
from tests.tiny_datasets import write_tiny_datasets

SEED = 7


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_datasets(tmp_path_factory.mktemp("datasets"))


def _source(name: str) -> Source:
    return next(s for s in SOURCES if s.name == name)


def _rows(datasets: Path, name: str) -> list[Row]:
    return read_source(_source(name), datasets, SEED)


def _rude(rows: list[Row]) -> Row:
    return next(r for r in rows if "idiot" in r.text)


def _fine(rows: list[Row]) -> Row:
    return next(r for r in rows if "thanks" in r.text)


def test_every_source_reads_and_a_clean_row_is_zero_in_every_category(datasets: Path) -> None:
    assert missing_files(datasets) == []
    for source in SOURCES:
        rows = _rows(datasets, source.name)
        assert rows, source.name
        clean = _fine(rows).labels
        if source.name == "hatemoji-build":  # its non-hateful posts may still swear: obscene is not said
            assert clean.pop("obscene") is None
        assert set(clean.values()) == {0.0}, source.name
        assert set(_rude(rows).labels) == set(CATEGORIES)


def test_news_comments_give_each_category_as_the_share_of_raters_and_mark_the_characters(datasets: Path) -> None:
    row = _rude(_rows(datasets, "toxic-spans"))
    assert row.labels["toxicity"] == pytest.approx(2 / 3)
    assert row.labels["threat"] == pytest.approx(2 / 3)
    assert row.labels["insult"] == pytest.approx(2 / 3)
    assert row.labels["identity_attack"] == 0.0
    assert row.labels["severe_toxicity"] is None and row.labels["sexual_explicit"] is None
    marked = {row.text[start:end]: shares for start, end, shares in row.spans}
    assert marked["idiot"] == {"toxicity": 0.6667, "insult": 0.6667}  # rounded to 4 places
    assert marked["I will hurt you"] == {"toxicity": 0.6667, "threat": 0.6667}


def test_chatbot_messages_give_severity_sexual_harassment_and_a_personal_insult(datasets: Path) -> None:
    row = _rude(_rows(datasets, "convabuse"))
    assert row.labels["toxicity"] == 1.0
    assert row.labels["severe_toxicity"] == 1.0
    assert row.labels["sexual_explicit"] == 0.5  # one rater of two
    assert row.labels["insult"] == 1.0
    assert row.labels["threat"] is None


def test_sources_say_only_what_they_label(datasets: Path) -> None:
    olid = _rude(_rows(datasets, "olid")).labels
    assert olid["toxicity"] == 1.0 and olid["threat"] is None and olid["identity_attack"] is None
    hatemoji = _rude(_rows(datasets, "hatemoji-build")).labels
    assert hatemoji["identity_attack"] == 1.0 and hatemoji["threat"] == 1.0 and hatemoji["obscene"] is None
    davidson = _rude(_rows(datasets, "davidson"))
    assert davidson.labels["toxicity"] == 1.0 and davidson.labels["identity_attack"] == pytest.approx(1 / 3)
    assert davidson.weight == 0.1


def test_published_splits_are_kept_and_the_others_drawn_from_the_text(datasets: Path) -> None:
    convabuse = _rows(datasets, "convabuse")
    assert {r.split for r in convabuse if "train.csv" in r.text} == {"train"}
    assert {r.split for r in convabuse if "test.csv" in r.text} == {"test"}
    first = [(r.text, r.split) for r in _rows(datasets, "olid")]
    assert first == [(r.text, r.split) for r in _rows(datasets, "olid")]


def test_excluded_texts_and_duplicates_are_dropped(datasets: Path) -> None:
    rows = _rows(datasets, "stormfront")
    excluded = " ".join(rows[0].text.split()).lower()
    kept = read_source(_source("stormfront"), datasets, SEED, exclude=frozenset({excluded}))
    assert [r.text for r in kept] == [r.text for r in rows[1:]]


def test_a_capped_source_keeps_its_balance_or_all_of_its_rare_positives(datasets: Path) -> None:
    # Half of the 24 rows are toxic: a cap of 12 keeps about half of each.
    rows = read_source(Source("olid-capped", "", "", (), _source("olid").read, cap=12), datasets, SEED)
    assert 10 <= len(rows) <= 14
    assert 4 <= sum(1 for r in rows if r.labels["toxicity"] == 1.0) <= 8

    def rare(root: Path) -> Any:  # 3 toxic rows in 24
        for index, (text, labels, split, spans) in enumerate(_source("olid").read(root)):
            yield text, labels if index % 8 == 1 else dict.fromkeys(CATEGORIES, 0.0), split, spans

    rows = read_source(Source("rare", "", "", (), rare, cap=12), datasets, SEED)
    assert sum(1 for r in rows if r.labels["toxicity"] == 1.0) == 3
    assert 10 <= len(rows) <= 14
