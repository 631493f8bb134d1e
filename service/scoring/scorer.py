"""What the engine asks of a model: a `TextScorer` scores a `Batch` of texts and may say where it found what it
scored (`ModelSpan`). The batch runs the shared encoder once, on first use, for every model that reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from service.scoring.emoji_words import Origin, spell_emoji
from service.scoring.encoder import Branch, shared_encoder

ENGLISH = frozenset({"en"})


class Batch:
    """Texts scored together. The encoder runs once, on first use, for the base embeddings and every branch.

    `final=False` when no scorer reads the encoder's final embeddings (a Detoxify toxicity model beside the
    conspiracy branch): only the layers below the branches run.
    """

    def __init__(self, texts: list[str], branches: tuple[Branch, ...] = (), final: bool = True) -> None:
        self.texts = texts
        self.branches = branches
        self.final = final

    @cached_property
    def spelled(self) -> list[tuple[str, Origin | None]]:
        """What the encoder reads: each text with its emoji spelled out, and the map back."""
        return [spell_emoji(text) for text in self.texts]

    @cached_property
    def _encoded(self) -> list[Any]:
        return shared_encoder().encode(
            [spelled for spelled, _ in self.spelled], branches=self.branches, final=self.final
        )

    def token_offsets(self) -> list[list[tuple[int, int]]]:
        """Each token's [start, end) in the spelled text, as the encoder tokenised it."""
        return shared_encoder().offsets([spelled for spelled, _ in self.spelled])

    @property
    def embeddings(self) -> np.ndarray:
        if not self.final:
            raise RuntimeError("this batch was built without the encoder's final embeddings")
        embeddings: np.ndarray = self._encoded[0]
        return embeddings

    def branch_embeddings(self, branch: Branch) -> Any:
        """The branch's embeddings matrix, or its list of per-text outputs (`per_text` branches)."""
        return self._encoded[1 + self.branches.index(branch)]



@dataclass(frozen=True)
class ModelSpan:
    """A stretch of a normalised text a model marked, with the category and the model's highest probability."""

    start: int
    end: int
    category: str
    probability: float



class TextScorer(Protocol):
    """A model that maps a batch of normalised texts to one score mapping per text."""

    name: str
    version: str
    load_seconds: float
    languages: frozenset[str]  # ISO 639-1 codes of the languages it was trained for
    categories: tuple[str, ...]  # what `score` gives for each text
    branch: Branch | None  # encoder layers this scorer needs run on every batch, if any
    reads_final_embeddings: bool  # whether it needs the shared encoder's last layer
    # The review threshold its training chose for a category, where it chose one: a cue phrase's floor under that
    # category reaches it (engine._with_cue_floors), so a retrain that raises a threshold does not silence the cue.
    review_thresholds: Mapping[str, float]

    def score(self, batch: Batch) -> list[dict[str, float]]: ...

    def spans(self, batch: Batch) -> list[list[ModelSpan]]:
        """Where in each text the model found what it scored, for the models that can say."""
        ...


def no_spans(batch: Batch) -> list[list[ModelSpan]]:
    return [[] for _ in batch.texts]


