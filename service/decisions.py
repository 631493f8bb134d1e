"""A site's decision on a scored text: its policy's thresholds, then its word lists.

Scores are shared by every site (the verdict cache keeps one entry per text and model); the decision is taken here,
on each request, so a changed policy or word list never serves an old decision.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.categories import TOXICITY_CATEGORIES
from service.policy import Decision, Policy
from service.schemas import EvidenceSpan, Scored, Verdict
from service.wordlists import WordMatch

# The site a comment belongs to when its request names none.
DEFAULT_SITE = "default"
# The category a word-list match flags and shows its evidence under.
WORDLIST = "wordlist"
_WORDLIST_DECISION = {"reject": Decision.REJECT, "review": Decision.REVIEW}


def decide(scored: Scored, policy: Policy, site: str, words: Sequence[WordMatch] = ()) -> Verdict:
    """The verdict of `site` under `policy`; `words` are the site's word-list matches in the same text.

    A reject list's match rejects and a review list's holds for review at least, whatever the scores say.
    """
    decision, flags = policy.decide(scored.scores, scored.language_supported)
    evidence = {category: list(spans) for category, spans in scored.evidence.items()}
    # The model's spans show under `toxicity` when it flagged any toxicity category.
    shown = set(flags) | ({"toxicity"} if set(flags) & set(TOXICITY_CATEGORIES) else set())
    for category, spans in scored.evidence_if_flagged.items():
        if category in shown:
            evidence.setdefault(category, []).extend(spans)
    if words:
        for match in words:
            decision = decision.at_least(_WORDLIST_DECISION[match.action])
        flags = [*flags, WORDLIST]
        evidence[WORDLIST] = [
            EvidenceSpan(start=m.start, end=m.end, text=m.text, cue=f"wordlist:{m.list_name}") for m in words
        ]
    ordered = {category: sorted(spans, key=lambda e: (e.start, e.end)) for category, spans in evidence.items()}
    return Verdict(
        decision=decision,
        flags=flags,
        scores=scored.scores,
        evidence=ordered,
        language=scored.language,
        language_supported=scored.language_supported,
        models=scored.models,
        policy=policy.version,
        cached=scored.cached,
        site=site,
    )
