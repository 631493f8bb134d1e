"""The embedded toxicity model: seven categories in every verdict, and spans from its token head as evidence."""

from __future__ import annotations

import numpy as np
import pytest

from service.app import load_engine
from service.categories import SPAN_CATEGORIES
from service.categories import TOXICITY_CATEGORIES as CATEGORIES
from service.config import Settings
from service.scoring.engine import ScoringEngine
from service.scoring.normalize import normalize
from service.scoring.toxicity import _spans_of


@pytest.fixture(scope="module")
def engine() -> ScoringEngine:
    return load_engine(Settings.model_validate({}))


def test_every_verdict_scores_the_seven_categories_and_conspiracy(engine: ScoringEngine) -> None:
    for verdict in engine.score([normalize("Thanks for the report."), normalize("you are a pathetic moron")]):
        assert set(verdict.scores) == {*CATEGORIES, "conspiracy"}
        assert all(0.0 <= score <= 1.0 for score in verdict.scores.values())


def test_a_threat_without_a_bad_word_is_flagged_with_the_words_that_carry_it(engine: ScoringEngine) -> None:
    text = "I will find you and  hurt you."
    (verdict,) = engine.score([normalize(text)])
    assert "threat" in verdict.flags
    spans = verdict.evidence["threat"]
    assert any("hurt you" in s.text for s in spans)
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_the_model_itself_marks_the_words_of_a_threat_without_a_bad_word(engine: ScoringEngine) -> None:
    text = "I will find you and  hurt you."
    (verdict,) = engine.score([normalize(text)])
    spans = [s for s in verdict.evidence["threat"] if s.cue == "model"]
    assert spans and any("hurt you" in s.text for s in spans)


def test_an_emoji_threat_is_flagged_with_the_emoji_as_evidence(engine: ScoringEngine) -> None:
    text = "I would love to 🔪 some 👳🏾"
    (verdict,) = engine.score([normalize(text)])
    assert {"threat", "identity_attack"} <= set(verdict.flags)
    marked = {s.text for s in verdict.evidence["threat"] if s.cue == "model"}
    assert "👳🏾" in marked and all(text[s.start : s.end] == s.text for s in verdict.evidence["threat"])


def test_the_emoji_that_names_the_group_is_marked_as_the_identity_attack(engine: ScoringEngine) -> None:
    (verdict,) = engine.score([normalize("I would love to 🔪 some 👳🏾")])
    assert "👳🏾" in {s.text for s in verdict.evidence.get("identity_attack", []) if s.cue == "model"}


def test_profanity_aimed_at_no_group_is_not_an_identity_attack_or_a_threat(engine: ScoringEngine) -> None:
    (verdict,) = engine.score([normalize("What a load of bullshit, the mayor is an idiot.")])
    assert verdict.decision != "allow"
    assert not {"identity_attack", "threat"} & set(verdict.flags)


def test_a_neutral_identity_mention_is_allowed(engine: ScoringEngine) -> None:
    for text in ("My neighbour is gay and a great cook.", "I am a proud queer woman."):
        (verdict,) = engine.score([normalize(text)])
        assert verdict.decision == "allow", (text, verdict.scores)


def test_model_spans_are_shown_only_for_what_was_flagged(engine: ScoringEngine) -> None:
    for verdict in engine.score([normalize("Thanks for the report."), normalize("I will find you and hurt you.")]):
        shown = {c for c, spans in verdict.evidence.items() if any(s.cue == "model" for s in spans)}
        assert shown <= {*verdict.flags, "toxicity"}
        if not verdict.flags:
            assert not shown


def test_marked_tokens_join_into_whole_word_spans() -> None:
    text = "you worthless idiot, go away"
    # [CLS] you worth ##less idiot , go away [SEP]
    offsets = [(0, 0), (0, 3), (4, 9), (9, 13), (14, 19), (19, 20), (21, 23), (24, 28), (0, 0)]
    probabilities = np.zeros((len(offsets), len(SPAN_CATEGORIES)), dtype=np.float32)
    insult = SPAN_CATEGORIES.index("insult")
    probabilities[3, insult] = 0.7  # "##less" alone: the span grows to the whole word
    probabilities[4, insult] = 0.9
    (span,) = _spans_of(text, offsets, probabilities)
    assert (text[span.start : span.end], span.category) == ("worthless idiot", "insult")
    assert span.probability == pytest.approx(0.9)
