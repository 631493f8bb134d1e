"""`moderation eval` and `moderation train`, end to end on small slices of the shared data."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from service.evaluation import LabeledTexts, evaluate
from service.scoring.models import ARTIFACTS
from service.training import _threshold_at_fpr, train
from tests.conftest import ROOT, SHARED


def _rows(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (SHARED / "datasets" / name).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_evaluate_counts_match_a_hand_count() -> None:
    data = LabeledTexts(["a", "b", "c", "d", "e"], np.array([1, 1, 0, 0, 1]))
    result = evaluate("toxicity", data, np.array([0.9, 0.4, 0.6, 0.1, 0.8]), threshold=0.5)
    assert result.confusion == [[1, 1], [1, 2]]
    assert (result.precision, result.recall) == (2 / 3, 2 / 3)
    assert abs(result.f1 - 2 / 3) < 1e-9
    perfect = evaluate("toxicity", data, np.array([0.9, 0.8, 0.2, 0.1, 0.7]), threshold=0.5)
    assert perfect.roc_auc == 1.0


def test_threshold_at_fpr_is_the_lowest_that_keeps_false_positives_down() -> None:
    probabilities = np.array([0.1, 0.2, 0.3, 0.72, 0.9, 0.95])
    labels = np.array([0, 0, 0, 0, 1, 1])
    assert _threshold_at_fpr(probabilities, labels, 0.0) == 0.75
    assert _threshold_at_fpr(probabilities, labels, 0.25) == 0.35


def test_eval_command_prints_the_figures_and_writes_a_report(tmp_path: Path) -> None:
    _, rows = _rows("psycomark-conspiracy.csv")
    picked = [r for r in rows if r["label"] == "Yes"][:30] + [r for r in rows if r["label"] == "No"][:30]
    source = tmp_path / "slice.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "label": r["label"]} for r in picked)
    report = tmp_path / "report"
    command = [sys.executable, "-m", "service.cli", "eval", str(source), "--task", "conspiracy", "--text-column",
               "text", "--label-column", "label", "--positive", "Yes", "--negative", "No", "--report", str(report)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "conspiracy: 60 rows (30 positive)" in done.stdout
    assert "ROC-AUC" in done.stdout and "PR-AUC" in done.stdout and "precision" in done.stdout
    markdown = (report / "report.md").read_text()
    assert "## Confusion matrix" in markdown
    assert "## Worst false positives" in markdown and "## Worst false negatives" in markdown
    for image in ("roc.png", "precision_recall.png"):
        assert (report / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_command_is_reproducible_and_never_touches_the_shipped_heads(tmp_path: Path) -> None:
    shipped = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in ARTIFACTS.glob("*.json")}
    header, rows = _rows("davidson-labeled.csv")
    picked = [r for r in rows if r["class"] == "2"][:60] + [r for r in rows if r["class"] in ("0", "1")][:90]
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    with (datasets / "davidson-labeled.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(picked)

    outputs = []
    for run in ("first", "second"):
        artifacts = tmp_path / run
        artifacts.mkdir()
        report = train("toxicity", datasets=datasets, out_dir=tmp_path / f"{run}-splits", artifacts=artifacts)
        outputs.append(report.artifact.read_bytes())
    payload = json.loads(outputs[0])
    assert outputs[0] == outputs[1], "training is seeded: the same data gives the same bytes"
    assert len(payload["coef"]) == 384 and payload["train_rows"] == 120
    assert payload["dataset_sha256"] == hashlib.sha256((datasets / "davidson-labeled.csv").read_bytes()).hexdigest()
    card = report.card.read_text()
    assert "ROC-AUC" in card and "MIT licence" in card and "never trained on" in card
    with report.test_split.open(newline="", encoding="utf-8") as handle:
        held_out = {row["text"] for row in csv.DictReader(handle)}
    assert len(held_out) == 30
    assert shipped == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in ARTIFACTS.glob("*.json")}
