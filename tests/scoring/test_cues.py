"""Cue-phrase evidence: what is found, where it is reported, and how families combine."""

from __future__ import annotations

import math
from typing import Any

import pytest

from service.scoring.cues import (
    CONSPIRACY_CUES,
    TOXICITY_CUES,
    Evidence,
    cue_score,
    find_cues,
    match_cues,
)
from service.scoring.normalize import normalize

FAMILIES = {family.name: family for family in CONSPIRACY_CUES}


def _seed_text(seed: dict[str, Any], comment_id: str) -> str:
    return next(c["text"] for c in seed["comments"] if c["id"] == comment_id)


def _assert_well_formed(original: str, evidence: list[Evidence]) -> None:
    """Each span is the original text at its offsets, cuts no word, and its family's pattern matches it."""
    for item in evidence:
        assert 0 <= item.start < item.end <= len(original)
        assert item.text == original[item.start : item.end]
        if item.start > 0:
            assert not original[item.start - 1].isalnum(), item
        if item.end < len(original):
            assert not original[item.end].isalnum(), item
        assert item.cue in FAMILIES
        assert FAMILIES[item.cue].pattern.search(normalize(item.text).text), item
    assert evidence == sorted(evidence, key=lambda e: (e.start, e.end))


def test_seed_conspiracy_comment_yields_its_evidence(seed: dict[str, Any]) -> None:
    original = _seed_text(seed, "seed-c1")
    evidence = find_cues(normalize(original))
    _assert_well_formed(original, evidence)

    consumption = [e for e in evidence if "for public consumption" in e.text]
    assert consumption, evidence
    assert {e.cue for e in consumption} == {"staged_for_show"}
    index = original.index("for public consumption")
    assert any(e.start <= index and e.end >= index + len("for public consumption") for e in consumption)

    puppet = [e for e in evidence if "puppet" in e.text]
    assert puppet, evidence
    assert {e.cue for e in puppet} == {"puppet_masters"}
    index = original.index("puppet")
    assert any(e.start <= index and e.end >= index + len("puppet") for e in puppet)


def test_seed_conspiracy_comment_spans_do_not_cut_words(seed: dict[str, Any]) -> None:
    original = _seed_text(seed, "seed-c1")
    for item in find_cues(normalize(original)):
        if item.start > 0:
            assert not original[item.start - 1].isalnum()
        if item.end < len(original):
            assert not original[item.end].isalnum()


def test_seed_conspiracy_comment_scores_two_families(seed: dict[str, Any]) -> None:
    evidence = find_cues(normalize(_seed_text(seed, "seed-c1")))
    assert {"puppet_masters", "staged_for_show"} <= {e.cue for e in evidence}
    assert cue_score(evidence) > max(FAMILIES["puppet_masters"].weight, FAMILIES["staged_for_show"].weight)


@pytest.mark.parametrize(
    ("original", "cue_text", "family"),
    [
        ("they   said  it is    for public consumption.", "for public consumption", "staged_for_show"),
        ("\u200b\u200bthey\u200b said\u200b it is for public consumption", "for public consumption", "staged_for_show"),
        (
            "\uff54\uff48\uff45\uff59 \uff53\uff41\uff49\uff44 it is for public consumption",
            "for public consumption",
            "staged_for_show",
        ),
        (
            "\uff54\uff48\uff45\uff59\u200b   \uff53\uff41\uff49\uff44 \t that man is a puppet!",
            "puppet",
            "puppet_masters",
        ),
        ("\ufb01ne \ufb01ne \u00a0\u00a0 a false flag", "false flag", "false_flag"),
        ("cafe\u0301 cafe\u0301 \x07\x07 the plandemic again", "plandemic", "plandemic"),
        ("sure \uff50\uff55\uff50\uff50\uff45\uff54 of them", "\uff50\uff55\uff50\uff50\uff45\uff54", "puppet_masters"),
        ("it is for   public\u200b consumption", "for   public\u200b consumption", "staged_for_show"),
        (
            "\uff37\uff21\uff2b\uff25 \uff35\uff30, sheeple",
            "\uff37\uff21\uff2b\uff25 \uff35\uff30, sheeple",
            "suppressed_truth",
        ),
    ],
)
def test_offsets_point_into_the_original_text(original: str, cue_text: str, family: str) -> None:
    evidence = find_cues(normalize(original))
    _assert_well_formed(original, evidence)
    matching = [e for e in evidence if e.cue == family]
    assert len(matching) == 1, evidence
    (item,) = matching
    assert item.start == original.index(cue_text)
    assert item.end == item.start + len(cue_text)
    assert item.text == cue_text


def test_fullwidth_cue_reported_in_its_original_form() -> None:
    original = "he is a \uff4d\uff4f\uff53\uff53\uff41\uff44 \uff50\uff55\uff50\uff50\uff45\uff54."
    (item,) = find_cues(normalize(original))
    assert item.text == "\uff4d\uff4f\uff53\uff53\uff41\uff44 \uff50\uff55\uff50\uff50\uff45\uff54"
    assert item.cue == "puppet_masters"
    assert original[item.start : item.end] == item.text


def test_span_never_ends_inside_a_word_with_a_combining_mark() -> None:
    # "puppet\u0301s" is one word: the evidence may not stop before its final "s".
    original = "they are all puppet\u0301s here"
    evidence = find_cues(normalize(original))
    _assert_well_formed(original, evidence)


@pytest.mark.parametrize(
    "text",
    [
        "the puppeteer bowed",  # cue inside a longer word
        "a showcase for the public",
        "stringent rules",
        "",
        "   \u200b  ",
    ],
)
def test_no_cue_inside_longer_words_or_empty_text(text: str) -> None:
    evidence = find_cues(normalize(text))
    assert evidence == []
    assert cue_score(evidence) == 0.0


def test_neutral_article_paragraphs_give_no_cues(seed: dict[str, Any]) -> None:
    articles = [c for c in seed["comments"] if c["id"].startswith("seed-article-")]
    assert len(articles) >= 10
    for comment in articles:
        evidence = find_cues(normalize(comment["text"]))
        assert evidence == [], (comment["id"], evidence)
        assert cue_score(evidence) == 0.0


def test_cue_score_is_zero_without_cues() -> None:
    assert cue_score([]) == 0.0


def test_cue_score_of_one_family_is_its_weight() -> None:
    for family in CONSPIRACY_CUES:
        score = cue_score([Evidence(0, 6, "puppet", family.name)])
        assert math.isclose(score, family.weight)
        assert 0.0 < score < 1.0


def test_cue_score_counts_each_family_once() -> None:
    one = [Evidence(0, 6, "puppet", "puppet_masters")]
    repeated = [*one, Evidence(10, 16, "puppet", "puppet_masters"), Evidence(20, 27, "puppets", "puppet_masters")]
    assert cue_score(repeated) == cue_score(one)


def test_cue_score_two_families_beat_either_alone() -> None:
    puppet = find_cues(normalize("he is a puppet"))
    show = find_cues(normalize("it is for public consumption"))
    assert {e.cue for e in puppet} == {"puppet_masters"}
    assert {e.cue for e in show} == {"staged_for_show"}
    both = find_cues(normalize("he is a puppet and it is for public consumption"))
    assert {e.cue for e in both} == {"puppet_masters", "staged_for_show"}
    assert cue_score(both) > cue_score(puppet) > 0.0
    assert cue_score(both) > cue_score(show) > 0.0
    expected = 1 - (1 - FAMILIES["puppet_masters"].weight) * (1 - FAMILIES["staged_for_show"].weight)
    assert math.isclose(cue_score(both), expected)


def test_cue_score_grows_with_every_family_and_stays_below_one() -> None:
    names = [family.name for family in CONSPIRACY_CUES]
    previous = 0.0
    for count in range(1, len(names) + 1):
        score = cue_score([Evidence(0, 1, "x", name) for name in names[:count]])
        assert previous < score < 1.0
        previous = score


def test_one_loose_word_stays_under_the_default_review_threshold() -> None:
    from service.config import Settings
    from service.policy import load_policy

    policy = load_policy(Settings.model_validate({}))
    evidence = find_cues(normalize("what a puppet show"))
    assert evidence
    assert cue_score(evidence) < policy.review["conspiracy"]


THREATS = tuple(family for family in TOXICITY_CUES if family.name in ("threat", "violence"))


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("Post that again and I will track you down and hurt you.", "I will track you down and hurt you"),
        ("imma stab u if i see u at the bus stop", "imma stab u"),
        ("We\u2019re gonna burn your house down, mate.", "We\u2019re gonna burn your house down"),
        ("I'll snap your scrawny neck.", "I'll snap your scrawny neck"),
        ("Somebody ought to poison the lot of them.", "Somebody ought to poison the lot"),
        ("Honestly they should all be hanged.", "they should all be hanged"),
        ("Let us go and shoot every last one of them.", "Let us go and shoot every last one"),
        ("I am going to stab the next cyclist I see.", "I am going to stab the next cyclist"),
        ("Better sleep with one eye open.", "sleep with one eye open"),
        ("I know where you live, Dave.", "I know where you live"),
        ("We are going to shoot up that temple.", "We are going to shoot up that temple"),
    ],
)
def test_intent_to_harm_without_a_bad_word_is_marked_at_review_weight(text: str, marked: str) -> None:
    evidence = find_cues(normalize(text), THREATS)
    assert [(e.text, e.cue) for e in evidence] == [(marked, "violence")]
    assert cue_score(evidence, THREATS) == 0.8  # review, not reject: these phrases are wider than a direct threat


def test_a_direct_threat_is_marked_by_both_families_and_reaches_reject() -> None:
    evidence = find_cues(normalize("I will kill you, I swear."), THREATS)
    assert {(e.text, e.cue) for e in evidence} == {("I will kill you", "threat"), ("I will kill you", "violence")}
    assert cue_score(evidence, THREATS) == pytest.approx(1 - 0.1 * 0.2)


@pytest.mark.parametrize(
    "text",
    [
        "I will never hurt you, I promise.",
        "I'm not going to kill him, relax.",
        "I'm going to make sure they can't hurt you.",
        "I will make sure nobody can hurt you.",
        "We will beat them in the final next season.",
        "We'll end them at the ballot box.",
        "I'll run you to the station after lunch.",
        "I'll cut you a deal on the tickets.",
        "I'm going to drown them in butter.",
        "We're going to put him in hospital for more tests.",
        "I'm going to bomb this exam.",
        "Someone will get hurt if they don't fix this road.",
        "Someone should hang up on these robocallers.",
        "No child should be shot going to school.",
        "This bill should be killed in committee.",
        "We need to cut them some slack.",
        "We're coming for you, Liverpool!",
        "The gunman shot him twice, police said.",
        "I'll kill some time in the library.",
    ],
)
def test_negated_or_figurative_harm_is_not_a_threat(text: str) -> None:
    assert find_cues(normalize(text), THREATS) == []


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("you\u2019re stupid and everyone knows it", "insult"),
        ("I\u2019ll stab you", "threat"),
        ("i\u2019m coming for you", "violence"),
        ("let\u2019s shoot every last one of them", "violence"),
        ("he is just the CIA\u2019s puppet", "puppet_masters"),
        ("they don\u2019t want you to know this", "suppressed_truth"),
    ],
)
def test_a_typographic_apostrophe_matches_where_the_ascii_one_does_and_the_evidence_keeps_the_author_s(
    text: str, cue: str
) -> None:
    ascii_text = text.replace("\u2019", "'")
    typographic = find_cues(normalize(text), CONSPIRACY_CUES + TOXICITY_CUES)
    straight = find_cues(normalize(ascii_text), CONSPIRACY_CUES + TOXICITY_CUES)
    assert [(e.start, e.end, e.cue) for e in typographic] == [(e.start, e.end, e.cue) for e in straight]
    assert cue in {e.cue for e in typographic}
    # The match itself, before it is mapped back to the original, reads the author's character, not the folded one.
    matched = match_cues(normalize(text).text, CONSPIRACY_CUES + TOXICITY_CUES)
    assert all("\u2019" in e.text for e in matched if e.cue == cue)


def test_each_toxicity_cue_family_alone_sends_toxicity_to_review_under_the_shipped_policy() -> None:
    """A family's weight is the toxicity floor one match sets; its own category's floor is the engine's
    (tests/scoring/test_engine.py)."""
    from service.config import Settings
    from service.policy import load_policy

    policy = load_policy(Settings.model_validate({}))
    weights = {family.name: family.weight for family in TOXICITY_CUES}
    assert min(weights.values()) >= policy.review["toxicity"]
