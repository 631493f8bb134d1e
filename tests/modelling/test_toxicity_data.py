"""Reading the labeled toxicity sources: each category's label is what the raters said, masked where they said
nothing, and the project's own test sentences never reach training."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from modelling.toxicity_data import (
    CATEGORIES,
    DEFAULT_SOURCES,
    FEEDBACK,
    SOURCES,
    FeedbackColumnsError,
    Row,
    Source,
    feedback_labels,
    feedback_source,
    missing_files,
    read_feedback,
    read_source,
    text_key,
)
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
    assert missing_files(datasets, SOURCES) == []
    for source in DEFAULT_SOURCES:
        rows = _rows(datasets, source.name)
        assert rows, source.name
        clean = _fine(rows).labels
        if source.name == "hatemoji-build":  # its non-hateful posts may still swear: obscene is not said
            assert clean.pop("obscene") is None
        assert set(clean.values()) == {0.0}, source.name
        assert set(_rude(rows).labels) == set(CATEGORIES)



HATE_SOURCES = ("dynahate", "measuring-hate-speech", "gab-hate-corpus", "dynacounter", "fox-news")


def test_the_hate_sources_wait_outside_the_default_set_until_a_model_trained_on_them_ships() -> None:
    assert {s.name for s in SOURCES} - {s.name for s in DEFAULT_SOURCES} == set(HATE_SOURCES)


@pytest.mark.parametrize("name", HATE_SOURCES)
def test_a_hate_source_speaks_to_identity_attack_and_masks_what_its_negatives_do_not_say(
    datasets: Path, name: str
) -> None:
    """"Not hate" may still be an insult or swearing: a negative is 0 for identity_attack and unknown otherwise
    (Gab's own labels aside). Hate is identity attack alone: as toxicity it taught that naming a group is toxic."""
    rows = _rows(datasets, name)
    hateful = _rude(rows).labels
    assert hateful["identity_attack"] == 1.0
    if name != "gab-hate-corpus":  # Gab's rude rows also call for violence and swear, which are toxic
        assert hateful["toxicity"] is None and hateful["insult"] is None
    not_hate = _fine(rows).labels
    assert not_hate["identity_attack"] == 0.0
    assert not_hate["toxicity"] is None and not_hate["insult"] is None
    if name != "gab-hate-corpus":
        assert not_hate["obscene"] is None and not_hate["threat"] is None


def test_gab_gives_threat_from_calls_for_violence_and_obscene_from_vulgarity(datasets: Path) -> None:
    rows = _rows(datasets, "gab-hate-corpus")
    rude = _rude(rows).labels
    assert rude["threat"] == 1.0 and rude["obscene"] == 1.0
    vulgar_only = next(r for r in rows if r.text.startswith("gab post 2:")).labels
    assert vulgar_only == {**vulgar_only, "toxicity": 1.0, "obscene": 1.0, "identity_attack": 0.0, "threat": 0.0}
    fine = _fine(rows).labels
    assert fine["threat"] == 0.0 and fine["obscene"] == 0.0
    hate_alone = next(r for r in rows if r.text.startswith("gab post 4:")).labels
    assert hate_alone["identity_attack"] == 1.0 and hate_alone["toxicity"] is None


def test_sources_with_their_own_splits_keep_them_and_gab_carves_validation_from_its_training_rows(
    datasets: Path,
) -> None:
    for name in ("dynahate", "measuring-hate-speech"):
        by_text = {r.text: r.split for r in _rows(datasets, name)}
        assert by_text[_text_of(name, 1)] == "validation" and by_text[_text_of(name, 2)] == "test"
    gab = _rows(datasets, "gab-hate-corpus")
    assert {r.split for r in gab if r.text.startswith("gab post 0:")} == {"test"}
    assert {r.split for r in gab} <= {"train", "validation", "test"}


def test_dynahate_counts_its_not_hate_twins_more_than_its_hate(datasets: Path) -> None:
    weights = {r.labels["identity_attack"]: r.weight for r in _rows(datasets, "dynahate")}
    assert weights == {1.0: 1.0, 0.0: _source("dynahate").negative_weight} and weights[0.0] > 1.0


def _text_of(name: str, index: int) -> str:
    prefix = {"measuring-hate-speech": "mhs"}.get(name, name)
    rude = index % 2 == 1
    return f"{prefix} post {index}: " + (
        "you are a worthless idiot and I will hurt you" if rude else "thanks for the clear report on the council budget"
    )


def test_counter_speech_replies_are_not_hate_and_other_replies_are_left_out(datasets: Path) -> None:
    rows = _rows(datasets, "dynacounter")
    replies = [r for r in rows if r.text.startswith("dynacounter reply")]
    assert replies and all(r.labels["identity_attack"] == 0.0 for r in replies)
    assert not any(r.text.startswith("dynacounter reply post 0:") for r in rows)  # not counter-speech
    statements = [r for r in rows if r.text.startswith("dynacounter statement")]
    assert len(statements) == 24 and all(r.labels["identity_attack"] == 1.0 for r in statements)

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
    excluded = text_key(rows[0].text)
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


def test_a_cap_below_the_positives_thins_every_row_alike(datasets: Path) -> None:
    """11 toxic rows in 23 (the minority, as in Measuring Hate Speech) under a cap of 6: the cap holds."""
    def mostly_toxic(root: Path) -> Any:
        for index, (text, labels, split, spans) in enumerate(_source("olid").read(root)):
            if index != 1:  # one toxic row fewer: 11 of 23
                yield text, labels, split, spans

    rows = read_source(Source("capped", "", "", (), mostly_toxic, cap=6), datasets, SEED)
    assert 4 <= len(rows) <= 8
    assert 0 < sum(1 for r in rows if r.labels["toxicity"] == 1.0) < len(rows)


# --- a site's feedback export -----------------------------------------------------------------------------------


def _feedback_file(path: Path, rows: list[tuple[str, str, object]], header: tuple[str, ...] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header or ("text", "attribute", "value", "source", "created_at"))
        writer.writerows([(text, attribute, value, "suggestscore", "") for text, attribute, value in rows])
    return path


def test_feedback_attributes_map_to_categories_and_statuses_to_whole_verdicts() -> None:
    assert feedback_labels("PROFANITY", 0.7) == {"obscene": 0.7}
    assert feedback_labels("TOXICITY_EXPERIMENTAL", 1.0) == {"toxicity": 1.0}
    assert feedback_labels("SEXUALLY_EXPLICIT", 0.0) == {"sexual_explicit": 0.0}
    assert feedback_labels("insult", 1.0) == {"insult": 1.0}  # our own name, as queue decisions write it
    assert feedback_labels("APPROVED", 1.0) == feedback_labels("HIGHLIGHTED", 1.0) == dict.fromkeys(CATEGORIES, 0.0)
    assert feedback_labels("DELETED", 1.0) == feedback_labels("REJECTED", 1.0) == {"toxicity": 1.0}
    for unused in ("CONSPIRACY", "conspiracy", "ATTACK_ON_AUTHOR", "toxicity ", ""):
        assert feedback_labels(unused, 1.0) is None, unused
    assert feedback_labels("APPROVED", 0.0) is None  # "not approved" says neither clean nor toxic


def test_feedback_rows_merge_per_text_and_the_later_label_wins(tmp_path: Path) -> None:
    path = _feedback_file(
        tmp_path / "feedback.csv",
        [
            ("You are  an idiot", "INSULT", 0.2),
            ("you are an IDIOT", "INSULT", 0.9),  # the same text as read_source keys it: the later value wins
            ("you are an idiot", "DELETED", 1),
            ("thanks, nice report", "TOXICITY", 0.0),  # not toxic: clean in every category nothing spoke to
            ("thanks, nice report", "THREAT", 0.3),
            ("the cia staged it", "CONSPIRACY", 1.0),
            ("an odd one", "TOXICITY", "high"),
            ("an odd one", "TOXICITY", 1.5),
            ("   ", "TOXICITY", 1.0),
        ],
    )
    feedback = read_feedback([path])
    assert feedback.rows == 9
    assert feedback.skipped == {"CONSPIRACY": 1, "value not in [0, 1]": 2, "empty text": 1}
    labels = dict(feedback.texts)
    assert set(labels) == {"You are  an idiot", "thanks, nice report"}  # the first spelling read
    assert labels["You are  an idiot"] == {c: None for c in CATEGORIES} | {"insult": 0.9, "toxicity": 1.0}
    assert labels["thanks, nice report"] == dict.fromkeys(CATEGORIES, 0.0) | {"threat": 0.3}
    assert "skipped 4 rows training does not use (value not in [0, 1] 2, CONSPIRACY 1, empty text 1)" in (
        feedback.summary([path])
    )


def test_feedback_is_a_source_like_the_others(tmp_path: Path) -> None:
    texts = [f"feedback comment {i}: you are a worthless idiot" for i in range(60)]
    path = _feedback_file(tmp_path / "feedback.csv", [(t, "TOXICITY", 1.0) for t in texts])
    source = feedback_source(read_feedback([path]), [path])
    assert source.name == FEEDBACK and source.weight == 1.0
    excluded = text_key(texts[0])
    rows = read_source(source, tmp_path / "no datasets here", SEED, exclude=frozenset({excluded}))
    assert [r.text for r in rows] == texts[1:]  # the project's test sentences are dropped from it too
    assert {r.split for r in rows} == {"train", "validation", "test"}  # drawn from each text's hash
    assert all(r.weight == 1.0 and r.source == FEEDBACK for r in rows)


def test_a_feedback_file_without_its_columns_is_refused(tmp_path: Path) -> None:
    path = _feedback_file(tmp_path / "other.csv", [], header=("text", "label"))
    with pytest.raises(FeedbackColumnsError, match="lacks the columns attribute, value") as caught:
        read_feedback([path])
    assert caught.value.missing == ["attribute", "value"]
