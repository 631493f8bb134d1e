"""The moderation policy: per-category thresholds that turn scores into allow / review / reject."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from service.config import Settings


class Decision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    REJECT = "reject"


# Defaults chosen on the seed thread and the shared data; the models issue measures them properly.
_BASE_REVIEW = {
    "toxicity": 0.5,
    "severe_toxicity": 0.5,
    "obscene": 0.5,
    "threat": 0.5,
    "insult": 0.5,
    "identity_attack": 0.5,
    "sexual_explicit": 0.5,
    # The conspiracy model's own review threshold (service/artifacts/conspiracy-minilm-top3.md): within 10%
    # false positives on training rows it did not fit. Two distinct cue families also reach it.
    "conspiracy": 0.8,
}
_BASE_REJECT = {category: 0.9 for category in _BASE_REVIEW} | {"conspiracy": 0.95}
# The embedded toxicity head: at 0.7 it reaches a 5% false-positive rate on out-of-fold
# predictions over its training data (see service/artifacts/toxicity-minilm-logreg.md).
_EMBEDDED_REVIEW = {"toxicity": 0.7}
_EMBEDDED_REJECT = {"toxicity": 0.9}

# Reject outranks review in the queue: it is the more certain harm.
_DECISION_WEIGHT = {Decision.ALLOW: 0.0, Decision.REVIEW: 0.0, Decision.REJECT: 1.0}


@dataclass(frozen=True)
class Policy:
    name: str
    review: dict[str, float]
    reject: dict[str, float]
    version: str = field(init=False)

    def __post_init__(self) -> None:
        for category, value in self.reject.items():
            if value < self.review.get(category, 0.0):
                raise ValueError(f"policy: reject threshold for {category} is below its review threshold")
        canonical = json.dumps({"review": self.review, "reject": self.reject}, sort_keys=True)
        object.__setattr__(self, "version", f"{self.name}@{hashlib.sha256(canonical.encode()).hexdigest()[:8]}")

    def decide(self, scores: dict[str, float]) -> tuple[Decision, list[str]]:
        """Flags are the categories at or above their review threshold, in score order."""
        flags = sorted(
            (c for c, s in scores.items() if c in self.review and s >= self.review[c]),
            key=lambda c: (-scores[c], c),
        )
        if any(c in self.reject and s >= self.reject[c] for c, s in scores.items()):
            return Decision.REJECT, flags
        return (Decision.REVIEW if flags else Decision.ALLOW), flags

    def risk(self, decision: Decision, scores: dict[str, float], flags: list[str]) -> float:
        """Queue priority in [0, 2]: certain rejects first, then by the strongest flagged score."""
        strongest = max((scores[c] for c in flags), default=max(scores.values(), default=0.0))
        return _DECISION_WEIGHT[decision] + strongest


def load_policy(settings: Settings) -> Policy:
    """Defaults for the configured model, then the policy file, then environment overrides."""
    review = dict(_BASE_REVIEW)
    reject = dict(_BASE_REJECT)
    if settings.toxicity_model == "embedded":
        review |= _EMBEDDED_REVIEW
        reject |= _EMBEDDED_REJECT
    name = "default"
    if settings.policy_file is not None:
        document = json.loads(Path(settings.policy_file).read_text())
        name = str(document.get("name", settings.policy_file.stem))
        review |= {k: float(v) for k, v in document.get("review", {}).items()}
        reject |= {k: float(v) for k, v in document.get("reject", {}).items()}
    if settings.review_thresholds or settings.reject_thresholds:
        name = f"{name}+env"
    review |= settings.review_thresholds
    reject |= settings.reject_thresholds
    return Policy(name=name, review=review, reject=reject)
