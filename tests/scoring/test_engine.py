"""The real scoring engine on the seed thread: one batch, the decisions a moderator expects."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from service.app import load_engine
from service.config import Settings
from service.decisions import DEFAULT_SITE, decide
from service.policy import Decision, Policy
from service.schemas import Verdict
from service.scoring.cues import CUE_CATEGORIES, CUES, TOXICITY_CUES, cue_score, find_cues
from service.scoring.engine import ScoringEngine
from service.scoring.normalize import normalize


@pytest.fixture(scope="module")
def engine() -> ScoringEngine:
    return load_engine(Settings.model_validate({}))


@pytest.fixture(scope="module")
def seed_verdicts(engine: ScoringEngine, seed: dict[str, Any]) -> dict[str, tuple[dict[str, Any], Verdict]]:
    comments = seed["comments"]
    verdicts = engine.score([normalize(c["text"]) for c in comments])  # one call for the whole thread
    assert len(verdicts) == len(comments)
    return {c["id"]: (c, v) for c, v in zip(comments, verdicts, strict=True)}


def test_every_seed_comment_gets_its_expected_decision(
    seed_verdicts: dict[str, tuple[dict[str, Any], Verdict]],
) -> None:
    wrong = {
        comment_id: (comment["expect"], verdict.decision.value, verdict.flags, verdict.scores)
        for comment_id, (comment, verdict) in seed_verdicts.items()
        if verdict.decision.value not in comment["expect"]["decision"]
    }
    assert not wrong


def test_every_seed_comment_gets_its_expected_flags(seed_verdicts: dict[str, tuple[dict[str, Any], Verdict]]) -> None:
    for comment_id, (comment, verdict) in seed_verdicts.items():
        assert set(comment["expect"]["flagged"]) <= set(verdict.flags), (comment_id, verdict.scores)
        if verdict.decision is Decision.ALLOW:
            assert verdict.flags == [], comment_id


def test_seed_expectations_cover_every_outcome(seed_verdicts: dict[str, tuple[dict[str, Any], Verdict]]) -> None:
    decisions = {verdict.decision for _, verdict in seed_verdicts.values()}
    assert Decision.ALLOW in decisions
    assert decisions & {Decision.REVIEW, Decision.REJECT}


def test_scores_are_probabilities_with_required_categories(
    engine: ScoringEngine, seed_verdicts: dict[str, tuple[dict[str, Any], Verdict]]
) -> None:
    for comment_id, (_, verdict) in seed_verdicts.items():
        assert {"toxicity", "conspiracy"} <= set(verdict.scores), comment_id
        for category, score in verdict.scores.items():
            assert 0.0 <= score <= 1.0, (comment_id, category, score)
            assert round(score, 4) == score
        assert set(verdict.models) >= {"toxicity", "conspiracy"}
        assert all(verdict.models.values())
        assert verdict.models == engine.models
        assert verdict.policy == engine.policy.version
        assert verdict.cached is False


def test_decisions_and_flags_follow_the_policy(
    engine: ScoringEngine, seed_verdicts: dict[str, tuple[dict[str, Any], Verdict]]
) -> None:
    for comment_id, (_, verdict) in seed_verdicts.items():
        assert engine.policy.decide(verdict.scores) == (verdict.decision, verdict.flags), comment_id
        for flag in verdict.flags:
            assert verdict.scores[flag] >= engine.policy.review[flag]


def test_conspiracy_score_is_at_least_the_cue_score(seed_verdicts: dict[str, tuple[dict[str, Any], Verdict]]) -> None:
    for comment_id, (comment, verdict) in seed_verdicts.items():
        evidence = find_cues(normalize(comment["text"]))
        assert verdict.scores["conspiracy"] >= round(cue_score(evidence), 4) - 1e-9, comment_id


def test_evidence_spans_point_into_the_submitted_text(
    seed_verdicts: dict[str, tuple[dict[str, Any], Verdict]],
) -> None:
    comment, verdict = seed_verdicts["seed-c1"]
    spans = verdict.evidence["conspiracy"]
    assert spans
    for span in spans:
        assert comment["text"][span.start : span.end] == span.text
        assert span.cue
    joined = " ".join(span.text for span in spans)
    assert "puppet" in joined
    assert "for public consumption" in joined
    for comment_id, (_, article_verdict) in seed_verdicts.items():
        if comment_id.startswith("seed-article-"):
            assert article_verdict.evidence["conspiracy"] == [], comment_id


def test_evidence_offsets_are_into_the_original_not_the_normalised_text(engine: ScoringEngine) -> None:
    original = "\u200b\u200b  \uff54\uff48\uff45\uff59   say it is for public consumption"
    (verdict,) = engine.score([normalize(original)])
    (span,) = verdict.evidence["conspiracy"]
    assert original[span.start : span.end] == span.text == "for public consumption"


def test_cosmetic_variants_score_the_same(engine: ScoringEngine) -> None:
    plain = "isis rebranding is for public consumption, he is a cia puppet"
    variant = "  \uff49\uff53\uff49\uff53 rebranding\u200b is  for public\tconsumption, he is a cia pup\u200bpet "
    first, second = engine.score([normalize(plain), normalize(variant)])
    assert first.scores == second.scores
    assert (first.decision, first.flags) == (second.decision, second.flags)


def test_a_verdict_for_the_normalised_text_is_located_in_each_original(engine: ScoringEngine) -> None:
    """The cache keeps evidence at offsets into the normalised text (its key); each request gets its own original."""
    first = "you idiot, he is a cia puppet and it is all for public consumption"
    variant = "you\u200b idiot,\n he is a \uff43\uff49\uff41 puppet and it is all for public  consumption"
    assert normalize(first).text == normalize(variant).text
    (keyed,) = engine.score_normalized([normalize(first)])
    cues = {s.cue for spans in keyed.evidence.values() for s in spans}
    assert cues >= {"insult", "puppet_masters", "staged_for_show"}
    for text in (first, variant):
        located = ScoringEngine.locate(keyed, normalize(text))
        assert decide(located, engine.policy, DEFAULT_SITE) == engine.score([normalize(text)])[0]
        for spans in located.evidence.values():
            for span in spans:
                assert text[span.start : span.end] == span.text
    assert [s.text for s in ScoringEngine.locate(keyed, normalize(variant)).evidence["conspiracy"]] == [
        "\uff43\uff49\uff41 puppet",
        "for public  consumption",
    ]


def test_empty_batch(engine: ScoringEngine) -> None:
    assert engine.score([]) == []


def test_the_fingerprint_names_no_policy_but_the_claim_sentence_threshold(engine: ScoringEngine) -> None:
    """The cache keeps scores, which no toxicity threshold changes: a second site's policy reuses them. The
    conspiracy review threshold decides which scores carry the claim's sentence, so it changes the key."""
    stricter_review = {**engine.policy.review, "toxicity": engine.policy.review["toxicity"] / 2}
    stricter = ScoringEngine(
        engine.toxicity, engine.conspiracy, Policy("default", stricter_review, engine.policy.reject)
    )
    assert stricter.policy.version != engine.policy.version
    assert stricter.fingerprint == engine.fingerprint

    lower_claims = {**engine.policy.review, "conspiracy": engine.policy.review["conspiracy"] / 2}
    other = ScoringEngine(engine.toxicity, engine.conspiracy, Policy("default", lower_claims, engine.policy.reject))
    assert other.fingerprint != engine.fingerprint
    assert other.models == engine.models


def test_fingerprint_changes_with_a_cue_weight(engine: ScoringEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    same = ScoringEngine(engine.toxicity, engine.conspiracy, engine.policy)
    assert same.fingerprint == engine.fingerprint

    first, *others = CUES["conspiracy"]
    monkeypatch.setitem(CUES, "conspiracy", (dataclasses.replace(first, weight=first.weight / 2), *others))
    reweighted = ScoringEngine(engine.toxicity, engine.conspiracy, engine.policy)
    assert reweighted.models == engine.models
    assert reweighted.policy.version == engine.policy.version
    assert reweighted.fingerprint != engine.fingerprint


def test_load_engine_is_cached_per_model_settings(engine: ScoringEngine) -> None:
    assert load_engine(Settings.model_validate({"REDIS_KEY_PREFIX": "other:", "PORT": "9999"})) is engine


def test_each_model_call_reports_how_many_texts_it_scored(
    engine: ScoringEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    monkeypatch.setattr(engine, "observe_batch", sizes.append)
    engine.score([normalize(text) for text in ("first comment", "second comment", "third comment")])
    assert sizes == [3]


# --- languages ------------------------------------------------------------------------------------------------


def test_every_verdict_says_its_language_and_whether_a_model_supports_it(engine: ScoringEngine) -> None:
    english, french = engine.score(
        [
            normalize("Thanks for the article, the map of the region was really helpful."),
            normalize("Merci pour cet article, la carte de la région était vraiment utile."),
        ]
    )
    assert (english.language, english.language_supported, english.decision) == ("en", True, Decision.ALLOW)
    # The embedded models read English only: a French comment they cannot judge goes to a moderator.
    assert (french.language, french.language_supported, french.decision) == ("fr", False, Decision.REVIEW)


def test_the_embedded_models_declare_english(engine: ScoringEngine) -> None:
    assert engine.languages_of("toxicity") == engine.languages_of("conspiracy") == frozenset({"en"})


def test_the_default_language_is_part_of_the_fingerprint() -> None:
    english = load_engine(Settings.model_validate({}))
    german = load_engine(Settings.model_validate({"MODERATION_DEFAULT_LANGUAGE": "de"}))
    assert english.fingerprint != german.fingerprint
    (short,) = german.score([normalize("you idiot")])
    assert (short.language, short.language_supported) == ("de", False)


def test_the_engine_knows_what_its_verdicts_score(engine: ScoringEngine) -> None:
    assert engine.categories == frozenset(engine.policy.review)
    (verdict,) = engine.score([normalize("Nice piece.")])
    assert set(verdict.scores) == engine.categories


# --- the conspiracy model's own evidence ----------------------------------------------------------------------

CLAIM = "isis rebranding is for public consumption, they sent cia / mossad puppet al-jolani to iraq."


def test_a_flagged_comment_shows_the_sentence_that_carried_the_conspiracy_score(engine: ScoringEngine) -> None:
    text = f"The weather was nice today. {CLAIM} Anyway, good article."
    (verdict,) = engine.score([normalize(text)])
    assert "conspiracy" in verdict.flags
    (sentence,) = [span for span in verdict.evidence["conspiracy"] if span.cue == "model"]
    assert sentence.text == CLAIM
    assert text[sentence.start : sentence.end] == CLAIM


def test_a_one_sentence_or_unflagged_comment_has_no_model_sentence(engine: ScoringEngine) -> None:
    one, unflagged = engine.score(
        [normalize(CLAIM), normalize("The weather was nice today. The council met. Good article.")]
    )
    assert "conspiracy" in one.flags
    assert all(span.cue != "model" for span in one.evidence["conspiracy"])
    assert "conspiracy" not in unflagged.flags
    assert unflagged.evidence["conspiracy"] == []


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Read the minutes before you comment, you moron.", "insult"),
        ("What a shitty week for the council.", "obscene"),
        ("The men who run that shelter are vermin.", "identity_attack"),
        ("Sleep with one eye open, councillor.", "threat"),
    ],
)
def test_a_cue_sends_its_own_category_to_review_even_where_training_raised_that_threshold_above_its_weight(
    engine: ScoringEngine, text: str, category: str
) -> None:
    (verdict,) = engine.score([normalize(text)])
    floor = max(
        family.weight
        for family in TOXICITY_CUES
        if CUE_CATEGORIES[family.name] == category and family.pattern.search(text.lower())
    )
    trained = engine.toxicity.review_thresholds[category]
    assert verdict.scores[category] >= max(floor, trained)
    assert category in verdict.flags, verdict.scores


def test_an_operator_who_raises_a_threshold_above_the_cue_floor_silences_the_cue() -> None:
    settings = Settings.model_validate({"MODERATION_REVIEW_THRESHOLDS": "insult=0.99"})
    (verdict,) = load_engine(settings).score([normalize("Read the minutes before you comment, you moron.")])
    assert verdict.scores["insult"] < 0.99 and "insult" not in verdict.flags
