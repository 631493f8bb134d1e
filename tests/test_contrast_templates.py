"""The contrasting training sentences: every hateful claim about a group comes with its negation and its rejection,
every threat with a harmless promise of the same frame, and none of them is a sentence of the project's suites."""

from __future__ import annotations

import re
from collections import Counter

from service.categories import TOXICITY_CATEGORIES
from service.contrast_templates import GROUPS, contrast_rows
from service.identity_templates import mentions_identity
from service.toxicity_data import text_key
from service.toxicity_training import project_test_sentences


def _kind(labels: dict[str, float | None]) -> str:
    if labels["toxicity"] == 0.0:
        return "clean"
    if labels["threat"] == 1.0:
        return "group threat" if labels["identity_attack"] == 1.0 else "person threat"
    return "hateful"


def test_each_hateful_claim_has_a_negation_and_a_rejection_so_the_words_alone_decide_nothing() -> None:
    rows = list(contrast_rows())
    kinds = Counter(_kind(labels) for _, labels in rows)
    assert kinds["group threat"] == len(GROUPS)
    # Two clean sentences (negated, rejected) per hateful one, and one harmless promise per threat against a person.
    assert kinds["clean"] == 2 * kinds["hateful"] + kinds["person threat"]
    for group in GROUPS:
        names = re.compile(rf"\b{re.escape(group)}\b", re.IGNORECASE)  # whole words: "men" is not in "women"
        about = Counter(_kind(labels) for text, labels in rows if names.search(text))
        assert (about["hateful"], about["clean"], about["group threat"]) == (6, 12, 1), group


def test_abusive_rows_say_only_what_the_sentence_shows_and_clean_rows_are_clean_in_every_category() -> None:
    for text, labels in contrast_rows():
        assert set(labels) == set(TOXICITY_CATEGORIES)
        if labels["toxicity"] == 0.0:
            assert set(labels.values()) == {0.0}, text
        else:
            assert labels["obscene"] is None and labels["sexual_explicit"] is None, text


def test_a_threat_and_its_harmless_twin_differ_in_the_verb_alone() -> None:
    rows = list(contrast_rows())
    threats = [text.split() for text, labels in rows if _kind(labels) == "person threat"]
    clean = [text.split() for text, labels in rows if _kind(labels) == "clean"]
    assert threats
    for threat in threats:
        twins = [c for c in clean if len(c) == len(threat) and sum(a != b for a, b in zip(c, threat, strict=True)) == 1]
        assert twins, " ".join(threat)


def test_no_contrast_sentence_is_one_of_the_hand_written_test_sentences() -> None:
    written = {text_key(text) for text, _ in contrast_rows()}
    assert not written & project_test_sentences()


def test_every_group_the_contrast_sentences_name_is_one_the_identity_balance_recognises() -> None:
    assert [group for group in GROUPS if not mentions_identity(group)] == []
