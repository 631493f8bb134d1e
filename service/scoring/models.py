"""The models behind the scores, and where their artifacts lie. Each loads once per process and scores a batch of
texts per call: the embedded toxicity branch, a logistic head (the conspiracy model), or the Detoxify library.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.categories import TOXICITY_CATEGORIES
from service.errors import ModelUnavailable
from service.scoring.branch import EncoderBranch
from service.scoring.encoder import Branch, shared_encoder
from service.scoring.scorer import ENGLISH, Batch, ModelSpan, TextScorer, no_spans
from service.scoring.toxicity import ToxicityScorer

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CONSPIRACY_ARTIFACT = ARTIFACTS / "conspiracy-minilm-top3.json"
TOXICITY_ARTIFACT = ARTIFACTS / "toxicity-minilm-top3.json"

# Detoxify outputs that are harm categories; the `unbiased` model also names identity groups, which are not.
DETOXIFY_CATEGORIES = TOXICITY_CATEGORIES
# Detoxify's README: `multilingual` was trained on the Jigsaw multilingual challenge's languages; the others on
# English comments.
DETOXIFY_LANGUAGES = {"multilingual": frozenset({"en", "fr", "es", "it", "pt", "tr", "ru"})}


def _clip(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


CHAR_NGRAM_RANGE = (2, 5)


def char_ngram_vectorizer(vocabulary: list[str] | None = None, idf: list[float] | None = None) -> Any:
    """TF-IDF over character n-grams within words; rebuilt from its vocabulary and idf, so no pickle is needed."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=CHAR_NGRAM_RANGE,
        sublinear_tf=True,
        dtype=np.float32,
        min_df=3,
        max_features=20_000,
        vocabulary={term: index for index, term in enumerate(vocabulary)} if vocabulary is not None else None,
    )
    if idf is not None:
        vectorizer.idf_ = np.asarray(idf, dtype=np.float32)
    return vectorizer


@dataclass(frozen=True)
class LinearHead:
    """Logistic regression weights over sentence embeddings (and, optionally, character n-grams), stored as JSON.

    The embeddings are the shared encoder's, or a fine-tuned branch's when the head has one.
    """

    coef: np.ndarray  # character n-gram weights first, when there are any, then the embedding weights
    intercept: float
    char_ngrams: Any = None
    branch: Branch | None = None

    def probability(self, batch: Batch) -> np.ndarray:
        embeddings = batch.embeddings if self.branch is None else batch.branch_embeddings(self.branch)
        embedding_coef = self.coef[-embeddings.shape[1] :]
        logits = embeddings @ embedding_coef + self.intercept
        if self.char_ngrams is not None:
            ngram_coef = self.coef[: len(self.coef) - len(embedding_coef)]
            logits = logits + self.char_ngrams.transform(batch.texts) @ ngram_coef
        return np.asarray(1.0 / (1.0 + np.exp(-logits)))

    @classmethod
    def from_artifact(cls, payload: dict[str, Any], directory: Path) -> LinearHead:
        ngrams = payload.get("char_ngrams")
        branch = None
        if "branch" in payload:
            branch_file = directory / payload["branch"]["file"]
            if not branch_file.is_file():
                raise ModelUnavailable(f"{branch_file} is missing; run `moderation train`")
            branch = EncoderBranch.load(shared_encoder(), branch_file)
        return cls(
            coef=np.asarray(payload["coef"], dtype=np.float32),
            intercept=float(payload["intercept"]),
            char_ngrams=char_ngram_vectorizer(ngrams["vocabulary"], ngrams["idf"]) if ngrams else None,
            branch=branch,
        )


class HeadScorer:
    """A logistic head on the shared MiniLM embeddings or its own branch, trained by `moderation train TASK`."""

    def __init__(self, category: str, artifact: Path) -> None:
        started = time.perf_counter()
        if not artifact.is_file():
            raise ModelUnavailable(f"{category} model {artifact} is missing; run `moderation train {category}`")
        payload = json.loads(artifact.read_text())
        self.category = category
        self.categories: tuple[str, ...] = (category,)
        self.name = str(payload["model"])
        self.languages = frozenset(payload.get("languages", ENGLISH))
        self.head = LinearHead.from_artifact(payload, artifact.parent)
        self.branch = self.head.branch
        self.reads_final_embeddings = self.branch is None
        self.review_thresholds: Mapping[str, float] = {}
        # The artifact names its branch file by digest, so this version covers both.
        self.version = _file_digest(artifact)
        shared_encoder()
        self.load_seconds = time.perf_counter() - started

    def score(self, batch: Batch) -> list[dict[str, float]]:
        if not batch.texts:
            return []
        return [{self.category: _clip(p)} for p in self.head.probability(batch)]

    def spans(self, batch: Batch) -> list[list[ModelSpan]]:
        return no_spans(batch)


def _detoxify_cached_checkpoint(variant: str) -> Path:
    import torch.hub
    from detoxify.detoxify import MODEL_URLS

    file_name: str = MODEL_URLS[variant].rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


class DetoxifyScorer:
    """The real `detoxify.Detoxify`, from a local checkpoint or from the local caches only."""

    def __init__(self, variant: str, checkpoint: Path | None = None, hf_config: Path | None = None) -> None:
        started = time.perf_counter()
        from importlib.metadata import version

        from detoxify import Detoxify

        self.name = f"detoxify-{variant}"
        self.languages = DETOXIFY_LANGUAGES.get(variant, ENGLISH)
        fetch_hint = (
            f"run `moderation fetch-models` with MODERATION_TOXICITY_MODEL={self.name} where a network exists, "
            "or set DETOXIFY_CHECKPOINT and DETOXIFY_HF_CONFIG to local files"
        )
        if checkpoint is None and not _detoxify_cached_checkpoint(variant).is_file():
            raise ModelUnavailable(f"{self.name} weights are not in the local cache: {fetch_hint}")
        if checkpoint is not None and not checkpoint.is_file():
            raise ModelUnavailable(f"DETOXIFY_CHECKPOINT {checkpoint} does not exist: {fetch_hint}")
        try:
            self._model = Detoxify(
                model_type=variant,
                checkpoint=str(checkpoint) if checkpoint else None,
                device="cpu",
                huggingface_config_path=str(hf_config) if hf_config else None,
            )
        except Exception as exc:  # any loading failure becomes one line with the way out
            raise ModelUnavailable(f"{self.name} could not be loaded ({exc.__class__.__name__}): {fetch_hint}") from exc
        digest_source = checkpoint if checkpoint else _detoxify_cached_checkpoint(variant)
        self.version = f"{version('detoxify')}-{_file_digest(digest_source)}"
        self.categories = tuple(c for c in DETOXIFY_CATEGORIES if c in self._model.class_names)
        self.branch: Branch | None = None
        self.reads_final_embeddings = False
        self.review_thresholds: Mapping[str, float] = {}
        self.load_seconds = time.perf_counter() - started

    def score(self, batch: Batch) -> list[dict[str, float]]:
        texts = batch.texts
        if not texts:
            return []
        raw = self._model.predict(list(texts))
        columns = {c: np.atleast_1d(np.asarray(raw[c], dtype=float)) for c in self.categories}
        return [{c: _clip(columns[c][i]) for c in self.categories} for i in range(len(texts))]

    def spans(self, batch: Batch) -> list[list[ModelSpan]]:
        return no_spans(batch)


def load_toxicity_scorer(
    model: str, checkpoint: Path | None, hf_config: Path | None, head: Path | None = None
) -> TextScorer:
    if model == "embedded":
        return ToxicityScorer(head or TOXICITY_ARTIFACT)
    return DetoxifyScorer(model.removeprefix("detoxify-"), checkpoint, hf_config)
