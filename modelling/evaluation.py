"""`moderation eval`: measure a task's score on a labeled file through the same pipeline the service runs."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from service.scoring.engine import ScoringEngine
from service.scoring.normalize import normalize

_BATCH = 64
_WORST = 20


@dataclass(frozen=True)
class LabeledTexts:
    texts: list[str]
    labels: np.ndarray  # 1 for the positive value, 0 otherwise


@dataclass
class EvalResult:
    task: str
    rows: int
    positives: int
    threshold: float
    roc_auc: float
    pr_auc: float
    precision: float
    recall: float
    f1: float
    macro_f1: float
    confusion: list[list[int]]  # [[tn, fp], [fn, tp]]
    scores: np.ndarray = field(repr=False)

    def summary(self) -> str:
        return (
            f"{self.task}: {self.rows} rows ({self.positives} positive)\n"
            f"  ROC-AUC {self.roc_auc:.4f}   PR-AUC {self.pr_auc:.4f}\n"
            f"  at the review threshold {self.threshold:.2f}: precision {self.precision:.4f}  "
            f"recall {self.recall:.4f}  F1 {self.f1:.4f}  macro-F1 {self.macro_f1:.4f}\n"
            f"  confusion [[tn, fp], [fn, tp]] = {self.confusion}"
        )


def read_labeled(
    path: Path, text_column: str, label_column: str, positive: str, negative: str | None = None
) -> LabeledTexts:
    """CSV or JSONL; rows whose label is neither `positive` nor `negative` (when given) are dropped."""
    if path.suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    else:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    if rows and (text_column not in rows[0] or label_column not in rows[0]):
        raise ValueError(f"{path} has no column {text_column!r} or {label_column!r}; it has {sorted(rows[0])}")
    kept = [r for r in rows if negative is None or str(r[label_column]) in (positive, negative)]
    kept = [r for r in kept if str(r[text_column]).strip()]
    return LabeledTexts(
        texts=[str(r[text_column]) for r in kept],
        labels=np.array([str(r[label_column]) == positive for r in kept], dtype=int),
    )


def score_task(engine: ScoringEngine, task: str, texts: list[str], progress: bool = True) -> np.ndarray:
    from tqdm import tqdm

    out: list[float] = []
    for start in tqdm(range(0, len(texts), _BATCH), desc=f"scoring {task}", unit="batch", disable=not progress):
        batch = [normalize(t) for t in texts[start : start + _BATCH]]
        out.extend(v.scores[task] for v in engine.score(batch))
    return np.array(out)


def evaluate(task: str, data: LabeledTexts, scores: np.ndarray, threshold: float) -> EvalResult:
    from sklearn.metrics import average_precision_score, confusion_matrix, f1_score, roc_auc_score

    predicted = (scores >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(data.labels, predicted, labels=[0, 1]).ravel())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return EvalResult(
        task=task,
        rows=len(data.texts),
        positives=int(data.labels.sum()),
        threshold=threshold,
        roc_auc=float(roc_auc_score(data.labels, scores)),
        pr_auc=float(average_precision_score(data.labels, scores)),
        precision=precision,
        recall=recall,
        f1=f1,
        macro_f1=float(f1_score(data.labels, predicted, average="macro")),
        confusion=[[tn, fp], [fn, tp]],
        scores=scores,
    )


def _worst(data: LabeledTexts, scores: np.ndarray, label: int, threshold: float) -> list[tuple[float, str]]:
    if label == 0:  # false positives: negatives scored highest
        picked = [(s, t) for s, t, y in zip(scores, data.texts, data.labels, strict=True) if y == 0 and s >= threshold]
        picked.sort(key=lambda pair: -pair[0])
    else:  # false negatives: positives scored lowest
        picked = [(s, t) for s, t, y in zip(scores, data.texts, data.labels, strict=True) if y == 1 and s < threshold]
        picked.sort(key=lambda pair: pair[0])
    return [(float(s), t) for s, t in picked[:_WORST]]


def _cell(text: str) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= 300 else flat[:297] + "..."


def write_report(directory: Path, source: Path, result: EvalResult, data: LabeledTexts, models: str) -> Path:
    """Markdown with ROC and precision-recall curves (PNG), the confusion matrix and the worst errors."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    directory.mkdir(parents=True, exist_ok=True)
    fpr, tpr, _ = roc_curve(data.labels, result.scores)
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot(fpr, tpr, label=f"ROC-AUC {result.roc_auc:.3f}")
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axis.set(xlabel="false positive rate", ylabel="true positive rate", title=f"{result.task}: ROC")
    axis.legend(loc="lower right")
    figure.savefig(directory / "roc.png", dpi=100, bbox_inches="tight")
    plt.close(figure)

    precision, recall, _ = precision_recall_curve(data.labels, result.scores)
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot(recall, precision, label=f"PR-AUC {result.pr_auc:.3f}")
    axis.scatter([result.recall], [result.precision], color="red", zorder=3, label=f"threshold {result.threshold:.2f}")
    axis.set(xlabel="recall", ylabel="precision", title=f"{result.task}: precision-recall")
    axis.legend(loc="lower left")
    figure.savefig(directory / "precision_recall.png", dpi=100, bbox_inches="tight")
    plt.close(figure)

    (tn, fp), (fn, tp) = result.confusion
    lines = [
        f"# Evaluation: {result.task}",
        "",
        f"- Data: `{source}` ({result.rows} rows, {result.positives} positive)",
        f"- Models: {models}",
        f"- ROC-AUC **{result.roc_auc:.4f}**, PR-AUC **{result.pr_auc:.4f}**",
        f"- At the policy's review threshold {result.threshold:.2f}: precision {result.precision:.4f}, "
        f"recall {result.recall:.4f}, F1 {result.f1:.4f}, macro-F1 {result.macro_f1:.4f}",
        "",
        "![ROC](roc.png) ![Precision-recall](precision_recall.png)",
        "",
        "## Confusion matrix",
        "",
        "| | predicted negative | predicted positive |",
        "|---|---|---|",
        f"| actual negative | {tn} | {fp} |",
        f"| actual positive | {fn} | {tp} |",
    ]
    for title, label in (("Worst false positives", 0), ("Worst false negatives", 1)):
        lines += ["", f"## {title}", "", "| score | text |", "|---|---|"]
        worst = _worst(data, result.scores, label, result.threshold)
        lines += [f"| {score:.3f} | {_cell(text)} |" for score, text in worst]
    report = directory / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report
