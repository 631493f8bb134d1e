"""The contrasting training sentences: every hateful claim about a group comes with its negation and its rejection,
every threat and sly put-down with a harmless twin of the same frame, every disguised claim with its negation
disguised alike, and none of them is close to a sentence of the project's suites."""

from __future__ import annotations

import re
from collections import Counter

from modelling.contrast_templates import GROUPS, contrast_rows, contrast_sets, disguise, disguised_claims
from modelling.identity_templates import mentions_identity
from modelling.toxicity_data import text_key
from modelling.toxicity_training import (
    SHARED_RUN_WORDS,
    project_test_runs,
    project_test_sentences,
    word_runs,
    written_rows,
)
from service.categories import TOXICITY_CATEGORIES


def _kind(labels: dict[str, float | None]) -> str:
    if labels["toxicity"] == 0.0:
        return "clean"
    if labels["threat"] == 1.0:
        return "group threat" if labels["identity_attack"] == 1.0 else "person threat"
    return "hateful"


def test_every_set_holds_an_abusive_sentence_and_its_clean_twins() -> None:
    sets = list(contrast_sets())
    for written in sets:
        kinds = [_kind(labels) for _, labels in written]
        assert kinds[0] != "clean" and kinds[1:] and set(kinds[1:]) == {"clean"}, written
    kinds = Counter(_kind(written[0][1]) for written in sets)
    # Per group: six plain claims, three disguised, one with a negation, one endorsed, three sly; three group threats
    # spoken as a plan and two as what the group deserves.
    assert kinds["hateful"] == 14 * len(GROUPS)
    assert kinds["group threat"] == 5 * len(GROUPS)
    assert [row for written in sets for row in written] == list(contrast_rows())
    for group in GROUPS:
        names = re.compile(rf"\b{re.escape(group)}\b", re.IGNORECASE)  # whole words: "men" is not in "women"
        about = Counter(_kind(written[0][1]) for written in sets if names.search(written[0][0]))
        # The disguised claims spell the group otherwise; a disguise may leave a long name's other words alone.
        assert 11 <= about["hateful"] <= 14 and about["group threat"] == 5, group


def test_abusive_rows_say_what_the_sentence_shows_and_clean_rows_are_clean_in_every_category() -> None:
    for text, labels in contrast_rows():
        assert set(labels) == set(TOXICITY_CATEGORIES)
        if labels["toxicity"] == 0.0:
            assert set(labels.values()) == {0.0}, text
            continue
        # No frame swears or speaks of sex; what a frame does not settle (insult, severity) stays unknown.
        assert labels["obscene"] == 0.0 and labels["sexual_explicit"] == 0.0, text
        assert labels["insult"] is None and labels["severe_toxicity"] is None, text
        if _kind(labels) == "person threat":
            assert labels["identity_attack"] == 0.0, text
        if _kind(labels) == "hateful":
            assert labels["threat"] == 0.0, text


def _differ_in_one_stretch(one: list[str], other: list[str]) -> bool:
    """Whether two sentences of as many words differ in one run of adjacent words and nowhere else."""
    changed = [i for i, (a, b) in enumerate(zip(one, other, strict=True)) if a != b]
    return bool(changed) and changed[-1] - changed[0] + 1 == len(changed)


def test_a_threat_and_its_harmless_twin_differ_in_the_harm_alone() -> None:
    for written in contrast_sets():
        threat, labels = written[0]
        if _kind(labels) not in ("person threat", "group threat"):
            continue
        twin = written[1][0]
        assert len(twin.split()) == len(threat.split()), (threat, twin)
        assert _differ_in_one_stretch(threat.split(), twin.split()), (threat, twin)


def test_a_disguised_word_keeps_its_first_letter_and_hides_the_rest_four_ways() -> None:
    assert [disguise("Muslims", style) for style in range(4)] == ["Mu$l1m$", "M u s l i m s", "Mus.lims", "Muslms"]
    # A short word less a vowel reads as another word ("deaf" -> "def"), and leet can leave a word as it was.
    assert disguise("deaf", 3) == "d e a f"
    assert disguise("scum", 0) == "s c u m"


def test_a_disguised_claim_comes_beside_its_negation_disguised_alike() -> None:
    rows = dict(contrast_rows())
    pairs = list(disguised_claims())
    assert len(pairs) == 3 * len(GROUPS)
    for hateful, negated in pairs:
        assert _kind(rows[hateful]) == "hateful" and _kind(rows[negated]) == "clean", hateful
        assert " not " in negated or " do not " in negated, negated
    texts = [text for text, _ in contrast_rows()]
    assert len(texts) == len(set(texts)), "a disguise that left the words as they were would repeat the plain claim"


def test_no_written_training_sentence_shares_a_run_of_words_with_a_test_sentence() -> None:
    kept, left_out = written_rows()
    near = project_test_runs()
    assert left_out > 0, "the filter has something to do: some frames do meet the suites' phrasing"
    assert not any(word_runs(row.text) & near for row in kept)
    assert all(len(run) == SHARED_RUN_WORDS for run in near)


def test_a_set_is_left_out_whole_when_one_of_its_sentences_is_near_a_test_sentence() -> None:
    kept = {row.text for row in written_rows()[0]}
    split = [written for written in contrast_sets() if 0 < sum(text in kept for text, _ in written) < len(written)]
    assert split == []
    assert any(all(text not in kept for text, _ in written) for written in contrast_sets())


def test_word_runs_fold_case_and_ignore_punctuation() -> None:
    assert word_runs("I will  STAB you, tonight.") == {("i", "will", "stab", "you"), ("will", "stab", "you", "tonight")}
    assert word_runs("Too short.") == set()


def test_no_contrast_sentence_is_one_of_the_hand_written_test_sentences() -> None:
    kept, _ = written_rows()
    assert {text_key(row.text) for row in kept if row.source == "contrast"}
    assert not {text_key(row.text) for row in kept} & project_test_sentences()


def test_every_group_the_contrast_sentences_name_is_one_the_identity_balance_recognises() -> None:
    assert [group for group in GROUPS if not mentions_identity(group)] == []
