"""The moderation policy: per-category thresholds that turn scores into allow / review / reject."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from service.categories import TOXICITY_CATEGORIES
from service.config import Settings
from service.errors import ModelUnavailable


class Decision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    REJECT = "reject"

    def at_least(self, other: Decision) -> Decision:
        """The stricter of the two."""
        return self if _SEVERITY[self] >= _SEVERITY[other] else other


# Defaults for a Detoxify model, chosen on the seed thread; the embedded model brings its own (see load_policy), and
# the conspiracy model always does (its artifact's review threshold, chosen by the rule in its model card).
_BASE_REVIEW = dict.fromkeys(TOXICITY_CATEGORIES, 0.5)
_BASE_REJECT = {category: 0.9 for category in _BASE_REVIEW} | {"conspiracy": 0.95}

# Reject outranks review in the queue: it is the more certain harm.
_DECISION_WEIGHT = {Decision.ALLOW: 0.0, Decision.REVIEW: 0.0, Decision.REJECT: 1.0}
_SEVERITY = {Decision.ALLOW: 0, Decision.REVIEW: 1, Decision.REJECT: 2}


@dataclass(frozen=True)
class Policy:
    name: str
    review: dict[str, float]
    reject: dict[str, float]
    # At least this for a comment in a language no model supports: its scores mean little, so never a silent allow
    # by default.
    unsupported_language: Decision = Decision.REVIEW
    # The categories that can flag or reject; None: every one. A site may switch conspiracy off, for one.
    categories: frozenset[str] | None = None
    version: str = field(init=False)

    def __post_init__(self) -> None:
        for category, value in self.reject.items():
            if value < self.review.get(category, 0.0):
                raise ValueError(f"policy: reject threshold for {category} is below its review threshold")
        document: dict[str, object] = {
            "review": self.review,
            "reject": self.reject,
            "unsupported_language": self.unsupported_language,
        }
        if self.categories is not None:
            document["categories"] = sorted(self.categories)
        canonical = json.dumps(document, sort_keys=True)
        object.__setattr__(self, "version", f"{self.name}@{hashlib.sha256(canonical.encode()).hexdigest()[:8]}")

    def counts(self, category: str) -> bool:
        return self.categories is None or category in self.categories

    def decide(self, scores: dict[str, float], language_supported: bool = True) -> tuple[Decision, list[str]]:
        """Flags are the counted categories at or above their review threshold, in score order."""
        flags = sorted(
            (c for c, s in scores.items() if c in self.review and s >= self.review[c] and self.counts(c)),
            key=lambda c: (-scores[c], c),
        )
        if any(c in self.reject and s >= self.reject[c] and self.counts(c) for c, s in scores.items()):
            decision = Decision.REJECT
        else:
            decision = Decision.REVIEW if flags else Decision.ALLOW
        if not language_supported:
            decision = decision.at_least(self.unsupported_language)
        return decision, flags

    def risk(self, decision: Decision, scores: dict[str, float], flags: list[str]) -> float:
        """Queue priority in [0, 2]: certain rejects first, then by the strongest flagged score (a word-list flag
        has none: then the strongest score of a counted category)."""
        counted = max((s for c, s in scores.items() if self.counts(c)), default=0.0)
        strongest = max((scores[c] for c in flags if c in scores), default=counted)
        return _DECISION_WEIGHT[decision] + strongest


def embedded_thresholds(artifact: Path | None = None) -> dict[str, dict[str, float]]:
    """The review and reject thresholds the embedded toxicity model's artifact ships with."""
    from service.scoring.models import TOXICITY_ARTIFACT

    path = artifact or TOXICITY_ARTIFACT
    if not path.is_file():
        raise ModelUnavailable(f"toxicity model {path} is missing; run `moderation train toxicity`")
    document = json.loads(path.read_text())
    kinds = ("review_thresholds", "reject_thresholds")
    return {kind: {k: float(v) for k, v in document[kind].items()} for kind in kinds}


def conspiracy_threshold(artifact: Path | None = None) -> float:
    """The review threshold the conspiracy model's artifact ships with."""
    from service.scoring.models import CONSPIRACY_ARTIFACT

    path = artifact or CONSPIRACY_ARTIFACT
    if not path.is_file():
        raise ModelUnavailable(f"conspiracy model {path} is missing; run `moderation train conspiracy`")
    return float(json.loads(path.read_text())["review_threshold"])


def load_policy(settings: Settings) -> Policy:
    """Defaults for the configured models, then the policy file, then environment overrides."""
    review = {**_BASE_REVIEW, "conspiracy": conspiracy_threshold(settings.conspiracy_model_path)}
    reject = dict(_BASE_REJECT)
    if settings.toxicity_model == "embedded":
        artifact = embedded_thresholds(settings.toxicity_head_path)
        # The embedded model's own thresholds, chosen by a stated rule on validation rows (its model card).
        review |= artifact["review_thresholds"]
        reject |= artifact["reject_thresholds"]
    name = "default"
    unsupported_language = Decision.REVIEW
    if settings.policy_file is not None:
        document = json.loads(Path(settings.policy_file).read_text())
        name = str(document.get("name", settings.policy_file.stem))
        review |= {k: float(v) for k, v in document.get("review", {}).items()}
        reject |= {k: float(v) for k, v in document.get("reject", {}).items()}
        if "unsupported_language" in document:
            unsupported_language = Decision(document["unsupported_language"])
    if settings.review_thresholds or settings.reject_thresholds or settings.unsupported_language:
        name = f"{name}+env"
    review |= settings.review_thresholds
    reject |= settings.reject_thresholds
    if settings.unsupported_language:
        unsupported_language = Decision(settings.unsupported_language)
    return Policy(name=name, review=review, reject=reject, unsupported_language=unsupported_language)
