"""The scoring engine: run every model on a batch of normalised texts and gather evidence; `score` also applies the
deployment's policy, for callers that need no site."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from service.categories import CONSPIRACY
from service.config import Settings
from service.decisions import DEFAULT_SITE, decide
from service.errors import ScoringUnavailable
from service.policy import Policy, load_policy
from service.schemas import EvidenceSpan, Scored, Verdict
from service.scoring import language
from service.scoring.batching import Batcher
from service.scoring.cues import CUE_CATEGORIES, CUES, Evidence, cue_score, locate, match_cues
from service.scoring.encoder import no_openmp_team
from service.scoring.models import CONSPIRACY_ARTIFACT, HeadScorer, load_toxicity_scorer
from service.scoring.normalize import NormalizedText
from service.scoring.scorer import Batch, TextScorer
from service.scoring.sentences import sentences

ScoreObserver = Callable[[str, float], None]
# The shape of what the verdict cache keeps: a new shape needs new keys, as a new model does.
_CACHE_FORMAT = "scores-v2"
BatchObserver = Callable[[int], None]


class ScoringEngine:
    def __init__(
        self,
        toxicity: TextScorer,
        conspiracy: TextScorer,
        policy: Policy,
        max_batch: int = 32,
        max_wait_seconds: float = 0.002,
        timeout_seconds: float | None = None,
        default_language: str = "en",
    ) -> None:
        self.toxicity = toxicity
        self.conspiracy = conspiracy
        self.policy = policy
        self.default_language = default_language
        # What a verdict scores: Detoxify `original` has no sexual_explicit, for one.
        self.categories = frozenset(toxicity.categories) | frozenset(conspiracy.categories)
        # A comment in none of these languages gets the policy's unsupported-language decision at least.
        self.languages = toxicity.languages | conspiracy.languages
        self.models = {
            "toxicity": f"{toxicity.name}+cues@{toxicity.version}",
            "conspiracy": f"{conspiracy.name}+cues@{conspiracy.version}",
        }
        # Cue phrases set score floors, so a changed cue changes verdicts just as a new model does.
        cues = json.dumps(
            {
                category: [[f.name, f.weight, f.pattern.pattern, int(f.pattern.flags)] for f in families]
                for category, families in CUES.items()
            },
            sort_keys=True,
        )
        cues_digest = hashlib.sha256(cues.encode()).hexdigest()[:16]
        # A flagged conspiracy claim's sentence is found for scores at or above the deployment's review threshold;
        # a site with a lower one sees its flag without that sentence.
        self.claim_sentence_floor = policy.review.get(CONSPIRACY, 0.0)
        identity = "|".join(
            [
                _CACHE_FORMAT,
                self.models["toxicity"],
                self.models["conspiracy"],
                f"claim-sentence>={self.claim_sentence_floor}",
                cues_digest,
                language.DETECTOR,
                default_language,
                ",".join(sorted(self.languages)),
            ]
        )
        # Part of every cache key: a new model or cue can never serve old scores. No policy is part of it: the cache
        # keeps scores, and each site decides on every request. Normalisation needs no version: the key's text hash
        # is of the normalised text, and scores depend on nothing else of the text.
        self.fingerprint = hashlib.sha256(identity.encode()).hexdigest()[:16]
        # A toxicity cue's floor under its own category: the family's weight, raised to the model's trained review
        # threshold for that category. The artifact's, not the policy's: an operator who raises a threshold still
        # silences the cue. The model's version in the fingerprint covers these.
        self._own_floors = {
            family.name: max(family.weight, toxicity.review_thresholds.get(CUE_CATEGORIES.get(family.name, ""), 0.0))
            for family in CUES["toxicity"]
        }
        # Encoder layers some scorer runs on every batch, beside the shared pass.
        self._branches = tuple(b for b in (toxicity.branch, conspiracy.branch) if b is not None)
        # With a Detoxify toxicity model, the encoder's top layers would be computed for nothing.
        self._final_embeddings = toxicity.reads_final_embeddings or conspiracy.reads_final_embeddings
        self.observe: ScoreObserver = lambda model, seconds: None
        self.observe_batch: BatchObserver = lambda texts: None
        self._batcher: Batcher[NormalizedText, Scored] = Batcher(
            self._score_now, max_batch, max_wait_seconds, timeout_seconds
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ScoringEngine:
        with no_openmp_team():
            toxicity = load_toxicity_scorer(
                settings.toxicity_model,
                settings.detoxify_checkpoint,
                settings.detoxify_hf_config,
                settings.toxicity_head_path,
            )
            conspiracy = HeadScorer("conspiracy", settings.conspiracy_model_path or CONSPIRACY_ARTIFACT)
        return cls(
            toxicity,
            conspiracy,
            load_policy(settings),
            settings.batch_max_size,
            settings.batch_max_wait_ms / 1000,
            settings.scoring_timeout_seconds,
            settings.default_language,
        )

    def _timed(self, scorer: TextScorer, batch: Batch) -> list[dict[str, float]]:
        started = time.perf_counter()
        result = scorer.score(batch)
        self.observe(scorer.name, time.perf_counter() - started)
        return result

    def score(self, texts: list[NormalizedText]) -> list[Verdict]:
        """Verdicts under the deployment's policy, in order, with evidence at offsets into each text as its author
        wrote it."""
        scored = self.score_normalized(texts)
        return [decide(self.locate(s, t), self.policy, DEFAULT_SITE) for s, t in zip(scored, texts, strict=True)]

    def score_normalized(self, texts: list[NormalizedText]) -> list[Scored]:
        """Scores whose evidence points into each normalised text: what the verdict cache keeps, since every text
        with that normalised form (the cache key) gets the same scores. Scored together with the texts of
        concurrent requests in this process."""
        try:
            return self._batcher.submit(texts)
        except TimeoutError:
            if self._batcher.timeout is None:  # not a wait that ran out: the model's own error
                raise
            raise ScoringUnavailable(f"scoring took longer than {self._batcher.timeout:g} s; retry shortly") from None

    @staticmethod
    def locate(scored: Scored, text: NormalizedText) -> Scored:
        """The scores with their evidence moved from the normalised text to whole words of this original."""
        if not any(scored.evidence.values()) and not any(scored.evidence_if_flagged.values()):
            return scored

        def moved(evidence: dict[str, list[EvidenceSpan]]) -> dict[str, list[EvidenceSpan]]:
            located: dict[str, list[EvidenceSpan]] = {}
            for category, spans in evidence.items():
                located[category] = []
                for span in spans:
                    start, end = locate(text, span.start, span.end)
                    found = EvidenceSpan(start=start, end=end, text=text.original[start:end], cue=span.cue)
                    located[category].append(found)
            return located

        return scored.model_copy(
            update={"evidence": moved(scored.evidence), "evidence_if_flagged": moved(scored.evidence_if_flagged)}
        )

    def detect_language(self, text: NormalizedText) -> language.Detection:
        """The language a text counts as, as its verdict will say: the default where detection is unsure."""
        return language.detect(text.text, self.default_language)

    def languages_of(self, category: str) -> frozenset[str]:
        """The languages the model that scores `category` supports."""
        scorer = self.conspiracy if category == CONSPIRACY else self.toxicity
        return scorer.languages

    def stalled_for(self) -> float:
        """Seconds the model call in progress has run past the scoring timeout; 0 when it has not."""
        timeout = self._batcher.timeout
        return 0.0 if timeout is None else max(0.0, self._batcher.busy_for() - timeout)

    def _score_now(self, texts: list[NormalizedText]) -> list[Scored]:
        """One model call per model for the whole batch; the MiniLM lower layers run once for all of them."""
        self.observe_batch(len(texts))
        batch = Batch([t.text for t in texts], self._branches, self._final_embeddings)
        toxicity = self._timed(self.toxicity, batch)
        conspiracy = self._timed(self.conspiracy, batch)
        marked = self.toxicity.spans(batch)
        results = []
        for text, tox, con, model_spans in zip(texts, toxicity, conspiracy, marked, strict=True):
            cues = {category: match_cues(text.text, families) for category, families in CUES.items()}
            scores = {k: round(v, 4) for k, v in _with_cue_floors({**tox, **con}, cues, self._own_floors).items()}
            written_in = self.detect_language(text).language
            evidence = {category: [_span(e) for e in found] for category, found in cues.items()}
            if_flagged: dict[str, list[EvidenceSpan]] = {}
            # A toxicity cue that set a category's floor is that category's evidence when it is flagged.
            for found in cues["toxicity"]:
                own = CUE_CATEGORIES.get(found.cue)
                if own is not None and own in scores:
                    if_flagged.setdefault(own, []).append(_span(found))
            # The model's spans are evidence for the categories it flagged (toxicity for any of its own).
            for span in model_spans:
                marked_text = text.text[span.start : span.end]
                if_flagged.setdefault(span.category, []).append(
                    EvidenceSpan(start=span.start, end=span.end, text=marked_text, cue="model")
                )
            results.append(
                Scored(
                    scores=scores,
                    evidence=evidence,
                    evidence_if_flagged=if_flagged,
                    language=written_in,
                    language_supported=written_in in self.languages,
                    models=self.models,
                )
            )
        claims = [i for i, s in enumerate(results) if s.scores.get(CONSPIRACY, 0.0) >= self.claim_sentence_floor]
        carrying = dict(zip(claims, self._carrying_sentences([texts[i].text for i in claims]), strict=True))
        return [_with_claim_sentence(s, carrying.get(i)) for i, s in enumerate(results)]

    def _carrying_sentences(self, texts: list[str]) -> list[EvidenceSpan | None]:
        """For each text the conspiracy model flagged, its sentence the model scores highest: where the claim is.

        The model reads whole comments, so its score cannot be split into words; scoring each sentence alone says
        which one carries it. Only flagged comments of two or more sentences pay for this extra encoder pass.
        """
        found: list[EvidenceSpan | None] = [None] * len(texts)
        pieces = [(t, start, end) for t, text in enumerate(texts) if len(bounds := sentences(text)) > 1
                  for start, end in bounds]  # fmt: skip
        if not pieces:
            return found
        scorer = self.conspiracy
        batch = Batch(
            [texts[t][start:end] for t, start, end in pieces],
            (scorer.branch,) if scorer.branch is not None else (),
            scorer.reads_final_embeddings,
        )
        best: dict[int, tuple[float, int, int]] = {}
        for (t, start, end), score in zip(pieces, self._timed(scorer, batch), strict=True):
            if t not in best or score[CONSPIRACY] > best[t][0]:
                best[t] = (score[CONSPIRACY], start, end)
        for t, (_, start, end) in best.items():
            found[t] = EvidenceSpan(start=start, end=end, text=texts[t][start:end], cue="model")
        return found


def _with_cue_floors(
    scores: dict[str, float], cues: dict[str, list[Evidence]], own_floors: dict[str, float]
) -> dict[str, float]:
    """A category's cue phrases set a floor under its model score; a toxicity cue also under its own category
    (profanity under obscene, a threat under threat) where the model scores that category, at `own_floors`."""
    floored = dict(scores)
    for category, families in CUES.items():
        floored[category] = max(floored[category], cue_score(cues[category], families))
    for cue in {e.cue for e in cues["toxicity"]}:
        own = CUE_CATEGORIES.get(cue)
        if own is not None and own in floored:
            floored[own] = max(floored[own], own_floors[cue])
    return floored


def _with_claim_sentence(scored: Scored, sentence: EvidenceSpan | None) -> Scored:
    """The scores with the sentence that carries a conspiracy claim among its evidence when flagged."""
    if sentence is None:
        return scored
    if_flagged = {**scored.evidence_if_flagged, CONSPIRACY: [sentence]}
    return scored.model_copy(update={"evidence_if_flagged": if_flagged})


def _span(found: Evidence) -> EvidenceSpan:
    return EvidenceSpan(start=found.start, end=found.end, text=found.text, cue=found.cue)
