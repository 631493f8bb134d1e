"""`moderation eval` end to end on a small labeled file, and the conspiracy threshold rule."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from modelling.conspiracy_training import choose_threshold
from modelling.evaluation import LabeledTexts, evaluate
from tests.conftest import ROOT


def _claims(count: int) -> list[dict[str, str]]:
    """Made-up statements: half say a hidden hand staged the news, half report council business."""
    rows = [{"text": f"story {i}: the cia staged it all for public consumption, they pull the strings", "label": "Yes"}
            for i in range(count)]
    return rows + [{"text": f"story {i}: the council approved the library budget on Tuesday", "label": "No"}
                   for i in range(count)]


def test_evaluate_counts_match_a_hand_count() -> None:
    data = LabeledTexts(["a", "b", "c", "d", "e"], np.array([1, 1, 0, 0, 1]))
    result = evaluate("toxicity", data, np.array([0.9, 0.4, 0.6, 0.1, 0.8]), threshold=0.5)
    assert result.confusion == [[1, 1], [1, 2]]
    assert (result.precision, result.recall) == (2 / 3, 2 / 3)
    assert abs(result.f1 - 2 / 3) < 1e-9
    perfect = evaluate("toxicity", data, np.array([0.9, 0.8, 0.2, 0.1, 0.7]), threshold=0.5)
    assert perfect.roc_auc == 1.0


def test_the_conspiracy_threshold_is_the_lowest_within_the_false_positive_bound() -> None:
    labels = np.array([0] * 20 + [1, 1])
    scores = np.array([0.1] * 19 + [0.72] + [0.9, 0.95])
    # From 0.15 on, one negative in twenty (5%) is flagged: the lowest such threshold, though 0.75 would be clean.
    assert choose_threshold(labels, scores) == 0.15
    assert choose_threshold(np.array([0, 0, 1]), np.array([0.99, 0.98, 0.99])) == 0.95  # never within: the top


def test_eval_command_prints_the_figures_and_writes_a_report(tmp_path: Path) -> None:
    source = tmp_path / "slice.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(_claims(30))
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
