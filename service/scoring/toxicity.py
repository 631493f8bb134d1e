"""The embedded toxicity model: a fine-tuned branch of the shared encoder with a head for each of Detoxify's seven
categories, and a per-token head that marks where in a comment the insult, threat, identity attack or obscenity is.

The sentence head reads the branch's mean-pooled embedding; the token head reads each token's final state. Both
ship inside the branch's safetensors file; the artifact JSON names it, the thresholds and the training figures.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from service.categories import SPAN_CATEGORIES
from service.categories import TOXICITY_CATEGORIES as CATEGORIES
from service.errors import ModelUnavailable
from service.scoring.branch import LOGIT_SCALE, EncoderBranch
from service.scoring.encoder import Branch, MiniLMEncoder, mean_pool, shared_encoder
from service.scoring.scorer import ENGLISH, Batch, ModelSpan

# A token is marked when its head's probability reaches this; neighbouring marked tokens form one span.
SPAN_THRESHOLD = 0.5


@dataclass(frozen=True)
class ToxicityOutput:
    probabilities: np.ndarray  # (7,) in CATEGORIES order
    token_probabilities: np.ndarray  # (tokens, 5) in SPAN_CATEGORIES order, [CLS] and [SEP] included


class ToxicityBranch(EncoderBranch):
    """The encoder's top layers fine-tuned for toxicity, with a sentence head and a token head."""

    per_text = True  # `embed` gives one ToxicityOutput a text, not a matrix of embeddings

    def __init__(self, encoder: MiniLMEncoder, start_layer: int) -> None:
        super().__init__(encoder, start_layer)
        width = encoder.config.hidden_size
        self.sentence_head = nn.Linear(width, len(CATEGORIES))
        self.token_head = nn.Linear(width, len(SPAN_CATEGORIES))

    def logits(self, states: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sentence logits `(batch, 7)` and token logits `(batch, tokens, 5)`."""
        tokens = self.token_states(states, attention_mask)
        pooled = mean_pool(tokens, attention_mask) * LOGIT_SCALE
        return self.sentence_head(pooled), self.token_head(tokens)

    def embed(self, states: torch.Tensor, attention_mask: torch.Tensor) -> list[ToxicityOutput]:  # type: ignore[override]
        sentence, tokens = self.logits(states, attention_mask)
        sentence_p = torch.sigmoid(sentence).numpy()
        token_p = torch.sigmoid(tokens).numpy()
        lengths = attention_mask.sum(dim=1).tolist()
        return [ToxicityOutput(sentence_p[row], token_p[row, :length]) for row, length in enumerate(lengths)]


def _spans_of(text: str, offsets: list[tuple[int, int]], probabilities: np.ndarray) -> list[ModelSpan]:
    """Marked tokens joined into spans of whole words in `text` (the spelled-out model text)."""
    found: list[ModelSpan] = []
    for column, category in enumerate(SPAN_CATEGORIES):
        current: list[int] | None = None
        best = 0.0
        for (start, end), p in zip(offsets, probabilities[:, column], strict=True):
            if end <= start:  # [CLS], [SEP]
                continue
            if p >= SPAN_THRESHOLD:
                if current is not None and start - current[1] <= 1:
                    current[1] = end
                    best = max(best, float(p))
                else:
                    if current is not None:
                        found.append(ModelSpan(current[0], current[1], category, best))
                    current, best = [start, end], float(p)
        if current is not None:
            found.append(ModelSpan(current[0], current[1], category, best))
    return [_whole_words(text, span) for span in found]


def _whole_words(text: str, span: ModelSpan) -> ModelSpan:
    start, end = span.start, span.end
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return ModelSpan(start, end, span.category, span.probability)


class ToxicityScorer:
    """The seven categories from the toxicity branch, and the spans its token head marks (`spans`)."""

    reads_final_embeddings = False

    def __init__(self, artifact: Path) -> None:
        started = time.perf_counter()
        if not artifact.is_file():
            raise ModelUnavailable(f"toxicity model {artifact} is missing; run `moderation train toxicity`")
        payload = json.loads(artifact.read_text())
        branch_file = artifact.parent / payload["branch"]["file"]
        if not branch_file.is_file():
            raise ModelUnavailable(f"{branch_file} is missing; run `moderation train toxicity`")
        self.name = str(payload["model"])
        self.languages = frozenset(payload.get("languages", ENGLISH))
        self.categories: tuple[str, ...] = CATEGORIES
        self.toxicity_branch = load_branch(branch_file)
        self.branch: Branch | None = self.toxicity_branch
        # The artifact names its branch file by digest, so this version covers both.
        self.version = hashlib.sha256(artifact.read_bytes()).hexdigest()[:12]
        self.review_thresholds: Mapping[str, float] = {
            category: float(value) for category, value in payload.get("review_thresholds", {}).items()
        }
        self.load_seconds = time.perf_counter() - started

    def _outputs(self, batch: Batch) -> list[ToxicityOutput]:
        outputs: list[ToxicityOutput] = batch.branch_embeddings(self.toxicity_branch)
        return outputs

    def score(self, batch: Batch) -> list[dict[str, float]]:
        return [
            {c: float(p) for c, p in zip(CATEGORIES, output.probabilities, strict=True)}
            for output in self._outputs(batch)
        ]

    def spans(self, batch: Batch) -> list[list[ModelSpan]]:
        """Marked spans, at offsets into each normalised text of the batch."""
        results: list[list[ModelSpan]] = []
        offsets = batch.token_offsets()
        for index, output in enumerate(self._outputs(batch)):
            model_text, origin = batch.spelled[index]
            marked = _spans_of(model_text, offsets[index], output.token_probabilities)
            if origin is not None:
                marked = [
                    ModelSpan(origin[s.start][0], origin[s.end - 1][1], s.category, s.probability)
                    for s in marked
                    if model_text[s.start : s.end].strip()
                ]
            results.append(marked)
        return results


def load_branch(path: Path, encoder: MiniLMEncoder | None = None) -> ToxicityBranch:
    branch = ToxicityBranch.load(encoder or shared_encoder(), path)
    assert isinstance(branch, ToxicityBranch)
    return branch
