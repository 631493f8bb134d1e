"""The scoring engine: normalise, run every model on a batch, gather evidence, apply the policy."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from service.config import Settings
from service.errors import ScoringUnavailable
from service.policy import Policy, load_policy
from service.schemas import EvidenceSpan, Verdict
from service.scoring.batching import Batcher
from service.scoring.cues import CUES, cue_score, find_cues
from service.scoring.models import (
    CONSPIRACY_ARTIFACT,
    Batch,
    HeadScorer,
    TextScorer,
    load_toxicity_scorer,
    no_openmp_team,
)
from service.scoring.normalize import NormalizedText

ScoreObserver = Callable[[str, float], None]
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
    ) -> None:
        self.toxicity = toxicity
        self.conspiracy = conspiracy
        self.policy = policy
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
        identity = "|".join([self.models["toxicity"], self.models["conspiracy"], policy.version, cues_digest])
        # Part of every cache key: a new model, policy or cue can never serve an old verdict. Normalisation needs
        # no version: the key's text hash is of the normalised text, and scores depend on nothing else of the text.
        self.fingerprint = hashlib.sha256(identity.encode()).hexdigest()[:16]
        # Encoder layers some scorer runs on every batch, beside the shared pass.
        self._branches = tuple(b for b in (toxicity.branch, conspiracy.branch) if b is not None)
        # With a Detoxify toxicity model, the encoder's top layers would be computed for nothing.
        self._final_embeddings = toxicity.reads_final_embeddings or conspiracy.reads_final_embeddings
        self.observe: ScoreObserver = lambda model, seconds: None
        self.observe_batch: BatchObserver = lambda texts: None
        self._batcher: Batcher[NormalizedText, Verdict] = Batcher(
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
        )

    def _timed(self, scorer: TextScorer, batch: Batch) -> list[dict[str, float]]:
        started = time.perf_counter()
        result = scorer.score(batch)
        self.observe(scorer.name, time.perf_counter() - started)
        return result

    @staticmethod
    def evidence(
        text: NormalizedText, known: dict[str, list[EvidenceSpan]] | None = None
    ) -> dict[str, list[EvidenceSpan]]:
        """Evidence spans point into this exact original text, so they are never taken from the cache.

        `known`: the evidence of a verdict for the same normalised text. Cues match the normalised text, so only
        the cue families named there can match this text: the others are not run again.
        """
        found: dict[str, list[EvidenceSpan]] = {}
        for category, families in CUES.items():
            if known is not None:
                names = {span.cue for span in known.get(category, ())}
                families = tuple(family for family in families if family.name in names)
            found[category] = [EvidenceSpan.model_validate(e, from_attributes=True) for e in find_cues(text, families)]
        return found

    def score(self, texts: list[NormalizedText]) -> list[Verdict]:
        """Verdicts in order; scored together with the texts of concurrent requests in this process."""
        try:
            return self._batcher.submit(texts)
        except TimeoutError:
            if self._batcher.timeout is None:  # not a wait that ran out: the model's own error
                raise
            raise ScoringUnavailable(
                f"scoring took longer than {self._batcher.timeout:g} s; retry shortly"
            ) from None

    def stalled_for(self) -> float:
        """Seconds the model call in progress has run past the scoring timeout; 0 when it has not."""
        timeout = self._batcher.timeout
        return 0.0 if timeout is None else max(0.0, self._batcher.busy_for() - timeout)

    def _score_now(self, texts: list[NormalizedText]) -> list[Verdict]:
        """One model call per model for the whole batch; the MiniLM embeddings are computed once for all heads."""
        self.observe_batch(len(texts))
        batch = Batch([t.text for t in texts], self._branches, self._final_embeddings)
        toxicity = self._timed(self.toxicity, batch)
        conspiracy = self._timed(self.conspiracy, batch)
        verdicts = []
        for text, tox, con in zip(texts, toxicity, conspiracy, strict=True):
            scores = {**tox, **con}
            evidence = self.evidence(text)
            # A category's cue phrases set a floor under its model score.
            for category, families in CUES.items():
                scores[category] = max(scores[category], cue_score(evidence[category], families))
            scores = {k: round(v, 4) for k, v in scores.items()}
            decision, flags = self.policy.decide(scores)
            verdicts.append(
                Verdict(
                    decision=decision,
                    flags=flags,
                    scores=scores,
                    evidence=evidence,
                    models=self.models,
                    policy=self.policy.version,
                    cached=False,
                )
            )
        return verdicts
