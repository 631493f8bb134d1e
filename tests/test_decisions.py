"""A site's decision on cached scores: the policy's thresholds, which evidence shows, then the site's word lists.

`decide` runs on every request, cache hit or not, so these tests build `Scored` values by hand: no model is needed
to check how one set of scores turns into each site's verdict.
"""

from __future__ import annotations

import pytest

from service.decisions import DEFAULT_SITE, WORDLIST, decide
from service.policy import Decision, Policy
from service.schemas import EvidenceSpan, Scored, Verdict
from service.scoring.normalize import normalize
from service.wordlists import Action, WordList, WordListMatcher, WordMatch

MODELS = {"toxicity": "minilm-l6-toxicity-logreg+cues@0123456789ab", "conspiracy": "minilm-l6-logreg+cues@6d8c26cbdec1"}
TEXT = "They staged it for public consumption, you idiot, and the sheeple bought it."


@pytest.fixture
def policy() -> Policy:
    return Policy(
        name="test",
        review={"toxicity": 0.5, "insult": 0.5, "threat": 0.5, "conspiracy": 0.75},
        reject={"toxicity": 0.9, "insult": 0.9, "threat": 0.9, "conspiracy": 0.95},
    )


def span(start: int, end: int, cue: str = "model", text: str | None = None) -> EvidenceSpan:
    return EvidenceSpan(start=start, end=end, text=text if text is not None else TEXT[start:end], cue=cue)


def scored(
    scores: dict[str, float] | None = None,
    *,
    evidence: dict[str, list[EvidenceSpan]] | None = None,
    evidence_if_flagged: dict[str, list[EvidenceSpan]] | None = None,
    language: str = "en",
    language_supported: bool = True,
    cached: bool = False,
) -> Scored:
    base = {"toxicity": 0.01, "insult": 0.01, "threat": 0.01, "conspiracy": 0.02}
    return Scored(
        scores=base | (scores or {}),
        evidence=evidence if evidence is not None else {},
        evidence_if_flagged=evidence_if_flagged if evidence_if_flagged is not None else {},
        language=language,
        language_supported=language_supported,
        models=MODELS,
        cached=cached,
    )


def word(action: Action, start: int, end: int, list_name: str = "banned") -> WordMatch:
    return WordMatch(
        list_name=list_name, action=action, term=TEXT[start:end].lower(), start=start, end=end, text=TEXT[start:end]
    )


def spans_of(verdict: Verdict, category: str) -> list[tuple[int, int, str]]:
    return [(e.start, e.end, e.cue) for e in verdict.evidence[category]]


# --- the policy's decision ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "decision", "flags"),
    [
        ({}, Decision.ALLOW, []),
        ({"toxicity": 0.4999}, Decision.ALLOW, []),
        ({"toxicity": 0.5}, Decision.REVIEW, ["toxicity"]),
        ({"conspiracy": 0.8}, Decision.REVIEW, ["conspiracy"]),
        ({"insult": 0.91}, Decision.REJECT, ["insult"]),
        ({"conspiracy": 0.94}, Decision.REVIEW, ["conspiracy"]),
        ({"conspiracy": 0.95}, Decision.REJECT, ["conspiracy"]),
    ],
)
def test_decision_from_the_policy_thresholds(
    policy: Policy, scores: dict[str, float], decision: Decision, flags: list[str]
) -> None:
    verdict = decide(scored(scores), policy, DEFAULT_SITE)
    assert verdict.decision is decision
    assert verdict.flags == flags


def test_flags_are_in_score_order(policy: Policy) -> None:
    """The strongest flag first: the queue and the moderator read the list from the front."""
    verdict = decide(scored({"toxicity": 0.6, "insult": 0.8, "conspiracy": 0.76, "threat": 0.55}), policy, "news")
    assert verdict.flags == ["insult", "conspiracy", "toxicity", "threat"]


def test_verdict_names_the_policy_and_site_and_keeps_the_scores(policy: Policy) -> None:
    """The verdict records who decided (site and policy version) next to what the models said, unchanged."""
    entry = scored({"insult": 0.7}, language="de", cached=True)
    verdict = decide(entry, policy, "forum")
    assert verdict.site == "forum"
    assert verdict.policy == policy.version
    assert verdict.policy.startswith("test@")
    assert verdict.scores == entry.scores
    assert verdict.models == MODELS
    assert verdict.language == "de"
    assert verdict.language_supported is True
    assert verdict.cached is True


def test_default_site_is_the_verdicts_default(policy: Policy) -> None:
    """A comment stored before sites existed reads back as the default site's."""
    assert decide(scored(), policy, DEFAULT_SITE).site == DEFAULT_SITE == Verdict.model_fields["site"].default


def test_two_sites_decide_the_same_scores_differently() -> None:
    """One cache entry serves every site: each site's thresholds decide it on its own."""
    entry = scored({"toxicity": 0.6})
    strict = Policy(name="strict", review={"toxicity": 0.3}, reject={"toxicity": 0.55})
    lenient = Policy(name="lenient", review={"toxicity": 0.7}, reject={"toxicity": 0.95})
    assert decide(entry, strict, "kids").decision is Decision.REJECT
    assert decide(entry, lenient, "debate").decision is Decision.ALLOW
    assert decide(entry, strict, "kids").policy != decide(entry, lenient, "debate").policy


def test_verdict_survives_a_json_round_trip(policy: Policy) -> None:
    """The comment store keeps verdicts as JSON: every field of a word-list verdict must come back the same."""
    verdict = decide(
        scored({"insult": 0.7}, evidence_if_flagged={"toxicity": [span(43, 48)]}),
        policy,
        "news",
        [word("review", 43, 48)],
    )
    assert Verdict.model_validate_json(verdict.model_dump_json()) == verdict


# --- evidence -------------------------------------------------------------------------------------------------


def test_evidence_is_shown_whatever_is_flagged(policy: Policy) -> None:
    """Cue phrases support a score even below threshold: a moderator looking at an allowed comment sees them."""
    cue = span(10, 37, cue="staged_for_show")
    verdict = decide(scored(evidence={"conspiracy": [cue]}), policy, "news")
    assert verdict.decision is Decision.ALLOW
    assert verdict.evidence == {"conspiracy": [cue]}


def test_evidence_if_flagged_shows_only_for_flagged_categories(policy: Policy) -> None:
    """Conspiracy's claim sentence shows only when conspiracy is flagged; an unflagged threat cue stays hidden."""
    if_flagged = {
        "conspiracy": [span(0, 37, cue="claim_sentence")],
        "threat": [span(43, 48, cue="threat_cue")],
    }
    verdict = decide(scored({"conspiracy": 0.8}, evidence_if_flagged=if_flagged), policy, "news")
    assert verdict.flags == ["conspiracy"]
    assert set(verdict.evidence) == {"conspiracy"}
    assert spans_of(verdict, "conspiracy") == [(0, 37, "claim_sentence")]


def test_nothing_flagged_shows_no_flagged_only_evidence(policy: Policy) -> None:
    if_flagged = {"toxicity": [span(43, 48)], "insult": [span(43, 48, cue="insult_cue")]}
    verdict = decide(scored(evidence_if_flagged=if_flagged), policy, "news")
    assert verdict.evidence == {}


@pytest.mark.parametrize("flagged", ["insult", "threat", "toxicity"])
def test_model_spans_show_under_toxicity_when_any_toxicity_category_is_flagged(policy: Policy, flagged: str) -> None:
    """The model's spans are kept under `toxicity`: they show for an insult or threat flag too."""
    if_flagged = {"toxicity": [span(43, 48)], "conspiracy": [span(0, 37, cue="claim_sentence")]}
    verdict = decide(scored({flagged: 0.6}, evidence_if_flagged=if_flagged), policy, "news")
    assert verdict.flags == [flagged]
    assert spans_of(verdict, "toxicity") == [(43, 48, "model")]
    assert "conspiracy" not in verdict.evidence


def test_a_conspiracy_flag_alone_does_not_show_the_model_spans(policy: Policy) -> None:
    verdict = decide(scored({"conspiracy": 0.8}, evidence_if_flagged={"toxicity": [span(43, 48)]}), policy, "news")
    assert verdict.flags == ["conspiracy"]
    assert "toxicity" not in verdict.evidence


def test_spans_are_sorted_by_start_then_end(policy: Policy) -> None:
    """Cue spans and flagged-only spans of one category merge into one list in text order."""
    evidence = {"insult": [span(58, 65, cue="b"), span(43, 48, cue="a"), span(43, 47, cue="c")]}
    if_flagged = {"insult": [span(50, 53, cue="d"), span(4, 10, cue="e")]}
    verdict = decide(scored({"insult": 0.7}, evidence=evidence, evidence_if_flagged=if_flagged), policy, "news")
    assert [(s, e) for s, e, _ in spans_of(verdict, "insult")] == [(4, 10), (43, 47), (43, 48), (50, 53), (58, 65)]


def test_deciding_leaves_the_cached_scores_untouched(policy: Policy) -> None:
    """The verdict cache hands one `Scored` to every request: a decision may not add spans to its lists."""
    evidence = {"insult": [span(43, 48, cue="insult_cue")]}
    if_flagged = {"insult": [span(4, 10)], "toxicity": [span(43, 48)]}
    entry = scored({"insult": 0.7}, evidence=evidence, evidence_if_flagged=if_flagged)
    before = entry.model_dump()
    first = decide(entry, policy, "news", [word("reject", 43, 48)])
    second = decide(entry, policy, "news", [word("reject", 43, 48)])
    assert entry.model_dump() == before
    assert first == second
    assert len(first.evidence["insult"]) == 2


# --- word lists -----------------------------------------------------------------------------------------------


def test_a_reject_match_rejects_an_allowed_text(policy: Policy) -> None:
    verdict = decide(scored(), policy, "news", [word("reject", 43, 48)])
    assert verdict.decision is Decision.REJECT
    assert verdict.flags == [WORDLIST]


@pytest.mark.parametrize(
    ("scores", "action", "decision"),
    [
        ({}, "review", Decision.REVIEW),
        ({"insult": 0.6}, "review", Decision.REVIEW),
        ({"insult": 0.95}, "review", Decision.REJECT),
        ({"conspiracy": 0.97}, "review", Decision.REJECT),
        ({"insult": 0.6}, "reject", Decision.REJECT),
    ],
)
def test_a_match_raises_the_decision_and_never_lowers_it(
    policy: Policy, scores: dict[str, float], action: Action, decision: Decision
) -> None:
    """A review list holds at least for review; a text the scores reject stays rejected."""
    assert decide(scored(scores), policy, "news", [word(action, 43, 48)]).decision is decision


def test_review_and_reject_matches_together_reject(policy: Policy) -> None:
    matches = [word("review", 43, 48, "suspect"), word("reject", 58, 65, "banned")]
    assert decide(scored(), policy, "news", matches).decision is Decision.REJECT
    assert decide(scored(), policy, "news", matches[::-1]).decision is Decision.REJECT


def test_wordlist_is_flagged_once_after_the_score_flags(policy: Policy) -> None:
    matches = [word("review", 43, 48, "suspect"), word("reject", 58, 65, "banned")]
    verdict = decide(scored({"insult": 0.6, "conspiracy": 0.8}), policy, "news", matches)
    assert verdict.flags == ["conspiracy", "insult", WORDLIST]


def test_no_matches_no_wordlist_flag_or_evidence(policy: Policy) -> None:
    verdict = decide(scored({"insult": 0.6}), policy, "news", [])
    assert verdict.flags == ["insult"]
    assert WORDLIST not in verdict.evidence


def test_wordlist_evidence_names_the_list_at_the_matched_offsets(policy: Policy) -> None:
    matches = [word("reject", 58, 65, "banned"), word("review", 43, 48, "suspect")]
    verdict = decide(scored(), policy, "news", matches)
    assert verdict.evidence[WORDLIST] == [
        EvidenceSpan(start=43, end=48, text="idiot", cue="wordlist:suspect"),
        EvidenceSpan(start=58, end=65, text="sheeple", cue="wordlist:banned"),
    ]


def test_wordlist_evidence_is_at_the_original_texts_offsets(policy: Policy) -> None:
    """A match found in a disguised spelling points at what the author wrote, not at the canonical form."""
    original = "Wow, you ÍD1ÓT and you s.h.e.e.p.l.e, really."
    lists = [WordList("banned", "reject", ("idiot",)), WordList("suspect", "review", ("sheeple",))]
    matches = WordListMatcher(lists).matches(normalize(original), "news", "en")
    verdict = decide(scored(), policy, "news", matches)
    assert verdict.decision is Decision.REJECT
    shown = [(e.text, e.cue) for e in verdict.evidence[WORDLIST]]
    assert shown == [("ÍD1ÓT", "wordlist:banned"), ("s.h.e.e.p.l.e", "wordlist:suspect")]
    for evidence in verdict.evidence[WORDLIST]:
        assert original[evidence.start : evidence.end] == evidence.text


# --- categories a site switches off ---------------------------------------------------------------------------


def test_a_category_left_out_neither_flags_nor_rejects_but_keeps_its_score() -> None:
    """A site that switches conspiracy off still sees its score (for its own review), never a decision from it."""
    no_conspiracy = Policy(
        name="no-conspiracy",
        review={"toxicity": 0.5, "insult": 0.5, "conspiracy": 0.75},
        reject={"toxicity": 0.9, "insult": 0.9, "conspiracy": 0.95},
        categories=frozenset({"toxicity", "insult"}),
    )
    if_flagged = {"conspiracy": [span(0, 37, cue="claim_sentence")]}
    verdict = decide(scored({"conspiracy": 0.99}, evidence_if_flagged=if_flagged), no_conspiracy, "news")
    assert verdict.decision is Decision.ALLOW
    assert verdict.flags == []
    assert verdict.scores["conspiracy"] == 0.99
    assert "conspiracy" not in verdict.evidence

    # The categories it keeps still decide.
    both = decide(scored({"conspiracy": 0.99, "insult": 0.95}), no_conspiracy, "news")
    assert both.decision is Decision.REJECT
    assert both.flags == ["insult"]


# --- unsupported language -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unsupported", "scores", "decision"),
    [
        (Decision.REVIEW, {}, Decision.REVIEW),
        (Decision.REJECT, {}, Decision.REJECT),
        (Decision.ALLOW, {}, Decision.ALLOW),
        (Decision.REVIEW, {"insult": 0.95}, Decision.REJECT),
    ],
)
def test_an_unsupported_language_raises_to_the_policys_decision(
    unsupported: Decision, scores: dict[str, float], decision: Decision
) -> None:
    """Scores in a language no model supports mean little: the policy's floor applies, never lowering a reject."""
    policy = Policy(
        name="lang",
        review={"insult": 0.5},
        reject={"insult": 0.9},
        unsupported_language=unsupported,
    )
    verdict = decide(scored(scores, language="xh", language_supported=False), policy, "news")
    assert verdict.decision is decision
    assert verdict.language_supported is False
    assert verdict.flags == (["insult"] if scores else [])


# --- queue risk of a word-list flag ---------------------------------------------------------------------------


def test_risk_of_a_wordlist_flag_uses_the_strongest_score(policy: Policy) -> None:
    """`wordlist` has no score of its own: the queue ranks by the strongest score rather than failing."""
    verdict = decide(scored({"conspiracy": 0.3}), policy, "news", [word("reject", 43, 48)])
    assert verdict.flags == [WORDLIST]
    assert policy.risk(verdict.decision, verdict.scores, verdict.flags) == pytest.approx(1.3)


def test_risk_of_a_wordlist_flag_beside_a_scored_flag_uses_the_flagged_score(policy: Policy) -> None:
    verdict = decide(scored({"insult": 0.6, "conspiracy": 0.7}), policy, "news", [word("review", 43, 48)])
    assert verdict.flags == ["insult", WORDLIST]
    assert policy.risk(verdict.decision, verdict.scores, verdict.flags) == pytest.approx(0.6)
