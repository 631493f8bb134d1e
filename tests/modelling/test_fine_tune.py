"""Fine-tuning a branch: seeded, and it learns the labels it is given."""

from __future__ import annotations

import numpy as np
import torch

from modelling.fine_tune import fine_tune_branch, layer_states
from service.scoring.encoder import shared_encoder
from service.scoring.scorer import Batch


def test_fine_tuning_is_seeded_and_moves_the_scores_towards_the_labels() -> None:
    encoder = shared_encoder()
    texts = [f"the {w} was staged for public consumption by the puppet masters" for w in ("vote", "war", "deal")] + [
        f"the {w} took place on Tuesday, officials said" for w in ("vote", "war", "deal")
    ]
    labels = np.array([1, 1, 1, 0, 0, 0])
    states = layer_states(encoder, texts, layer=4)
    runs = [fine_tune_branch(encoder, states, labels, 4, epochs=3, learning_rate=1e-4, seed=7) for _ in range(2)]
    (first, weights, bias), (second, weights_again, bias_again) = runs
    assert np.array_equal(weights, weights_again) and bias == bias_again
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    logits = Batch(texts, (first,)).branch_embeddings(first) @ weights + bias
    assert logits[:3].min() > logits[3:].max()
