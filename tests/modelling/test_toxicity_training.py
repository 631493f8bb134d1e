"""`moderation train toxicity` on a tiny datasets folder: seeded bytes, a card with every source and the left-out
run, thresholds by the stated rule; and the command's message when it has no datasets."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from modelling.toxicity_data import CATEGORIES, DEFAULT_SOURCES, SOURCE_NAMES, SOURCES, Row
from modelling.toxicity_training import (
    DEFAULT_WRITTEN,
    IDENTITY_BALANCE_MAX,
    NOUN_TEMPLATES,
    WRITTEN_SOURCES,
    balance_identity_mentions,
    choose_thresholds,
    load_rows,
    train,
    written_rows,
)
from service.scoring.models import ARTIFACTS
from tests.conftest import ROOT
from tests.tiny_datasets import write_tiny_datasets


def test_training_is_reproducible_reports_every_source_and_never_touches_the_shipped_model(tmp_path: Path) -> None:
    shipped = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in ARTIFACTS.iterdir() if p.is_file()}
    datasets = write_tiny_datasets(tmp_path / "datasets")
    outputs = []
    for run in ("first", "second"):
        report = train(datasets, artifacts=tmp_path / run, leave_out=("olid",), sample=0.4, epochs=1)
        outputs.append((report.artifact.read_bytes(), report.artifact.with_suffix(".branch.safetensors").read_bytes()))
    assert outputs[0] == outputs[1], "training is seeded: the same data gives the same bytes"
    payload = json.loads(outputs[0][0])
    assert payload["categories"] == list(CATEGORIES)
    assert set(payload["sources"]) == {s.name for s in DEFAULT_SOURCES}
    assert set(payload["figures"]["per_source"]) <= set(SOURCE_NAMES)
    assert payload["figures"]["left_out"]["source"] == "olid"
    assert set(payload["identity_balance"]) <= {*SOURCE_NAMES, *WRITTEN_SOURCES}
    assert payload["contrast_rows"] > 0
    for kind in ("review_thresholds", "reject_thresholds"):
        assert set(payload[kind]) == set(CATEGORIES)
    card = report.card.read_text()
    assert "CC BY-SA 3.0 ES" in card and "Left out: `olid`" in card and "| toxic-spans |" in card
    assert "| threat_person | flags threat |" in card and "ms a comment for the whole embedded pipeline" in card
    assert "noun_templates" not in payload and "noun-form" not in payload["threshold_rule"]
    assert shipped == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in ARTIFACTS.iterdir() if p.is_file()}


def test_a_run_may_add_sources_and_the_noun_templates_beyond_the_shipped_ones_and_leave_several_out(
    tmp_path: Path,
) -> None:
    datasets = write_tiny_datasets(tmp_path / "datasets")
    dynahate = next(s for s in SOURCES if s.name == "dynahate")
    report = train(
        datasets,
        tmp_path / "run",
        leave_out=("olid", "dynahate"),
        sample=0.4,
        epochs=1,
        sources=(*DEFAULT_SOURCES, dynahate),
        written=(*DEFAULT_WRITTEN, NOUN_TEMPLATES),
    )
    payload = json.loads(report.artifact.read_text())
    assert "dynahate" in payload["sources"] and "dynahate" in payload["figures"]["per_source"]
    assert payload["noun_templates"]["train"] > payload["noun_templates"]["validation"] > 0
    assert set(payload["figures"]["held_out_templates_flagged"]) == set(CATEGORIES)
    assert payload["threshold_rule"].endswith(
        "noun-form identity templates held out of training (15% of them, by text hash) are flagged"
    )
    assert [run["source"] for run in payload["figures"]["left_out"]] == ["olid", "dynahate"]
    flags = payload["figures"]["flags"]
    assert flags["source"] == "dynahate" and set(flags["not_hate_flagged"]) == set(CATEGORIES)
    card = report.card.read_text()
    assert "Left out: `olid`" in card and "Left out: `dynahate`" in card
    assert "Share of `dynahate`'s test rows flagged" in card and "The hate sources (DynaHate)" in card
    assert '("Tomasz is a thoughtful Sikh.")' in card and "held out of training to bound every review threshold" in card


def test_a_run_may_leave_the_written_sentences_out(tmp_path: Path) -> None:
    datasets = write_tiny_datasets(tmp_path / "datasets")
    rows, _ = load_rows(datasets, sample=0.2)
    assert {"templates", "contrast"} <= {r.source for r in rows}
    without, _ = load_rows(datasets, sample=0.2, written=("templates",))
    assert "contrast" not in {r.source for r in without} and "templates" in {r.source for r in without}
    assert {r.text for r in without} < {r.text for r in rows}


def test_review_maximises_f1_unless_a_lower_one_keeps_false_positives_rare_and_reject_needs_precision() -> None:
    clean = [[0.1]] * 10
    scores = np.tile(np.array([[0.1], [0.2], [0.4], [0.6], [0.7], [0.8], [0.9], [0.95], [0.97], [0.99], *clean]), 7)
    labels = np.tile(np.array([[0], [0], [0], [1], [0], [1], [1], [1], [1], [1], *[[0]] * 10], dtype=np.float32), 7)
    labels[:2, 1] = np.nan  # rows a source does not label are left out
    review, reject = choose_thresholds(scores, labels)
    assert review["toxicity"] == 0.45  # flags 0.6 and up: 6 of 6 positives, 1 false positive in 14 (7%)
    assert reject["toxicity"] == 0.75  # the lowest with precision 0.9 or more (5 flagged, all positive)

    # A rare category: F1 would wait for 0.55, but from 0.15 on only 2 of 102 negatives (2%) are flagged.
    rare_scores = np.array([0.1] * 100 + [0.5, 0.5, 0.3, 0.9, 0.95])
    rare_labels = np.array([0.0] * 102 + [1.0, 1.0, 1.0], dtype=np.float32)
    review, _ = choose_thresholds(np.tile(rare_scores[:, None], 7), np.tile(rare_labels[:, None], 7))
    assert review["threat"] == 0.15


def test_review_never_flags_more_than_a_tenth_of_the_clean_rows() -> None:
    # F1 peaks at 0.15 (all 10 positives, 2 of 10 clean rows: 20%); from 0.35 no clean row is flagged.
    scores = np.array([0.3] * 6 + [0.9] * 4 + [0.3] * 2 + [0.1] * 8)
    labels = np.array([1.0] * 10 + [0.0] * 10, dtype=np.float32)
    review, _ = choose_thresholds(np.tile(scores[:, None], 7), np.tile(labels[:, None], 7))
    assert review["toxicity"] == 0.35


def test_review_is_raised_until_the_held_out_identity_templates_are_left_alone() -> None:
    # On the sources' rows alone F1 is 1.0 from 0.15; but 10 of the 40 held-out neutral identity sentences score 0.5,
    # so review rises to 0.55, the lowest that flags none of them (at most 2% may be flagged: 0 of 40), at the cost
    # of the positives that score 0.4.
    scores = np.array([0.9] * 10 + [0.4] * 10 + [0.1] * 80 + [0.5] * 10 + [0.05] * 30)
    labels = np.array([1.0] * 20 + [0.0] * 120, dtype=np.float32)
    sources = np.array(["news"] * 100 + [NOUN_TEMPLATES] * 40)
    scores, targets = np.tile(scores[:, None], 7), np.tile(labels[:, None], 7)
    without = choose_thresholds(scores[:100], targets[:100], sources[:100])[0]
    assert without["toxicity"] == 0.15
    review, reject = choose_thresholds(scores, targets, sources)
    assert review["toxicity"] == 0.55
    assert reject["toxicity"] == 0.55  # precision 1.0 from there


def test_a_share_of_the_noun_templates_is_held_out_for_the_thresholds_and_the_other_written_rows_are_all_trained() -> (
    None
):
    kept, _ = written_rows()
    nouns = [r for r in kept if r.source == NOUN_TEMPLATES]
    held = [r for r in nouns if r.split == "validation"]
    assert 0.08 < len(held) / len(nouns) < 0.25  # 15% expected; by hash, of 226
    assert {r.split for r in nouns} == {"train", "validation"}
    assert {r.split for r in kept if r.source != NOUN_TEMPLATES} == {"train"}
    assert "Tomasz is a thoughtful Sikh." in {r.text for r in nouns}


def test_a_plain_run_trains_on_the_shipped_written_rows_alone() -> None:
    """The shipped model was trained without the noun-form templates: a plain run must rebuild it."""
    plain, plain_left_out = written_rows(DEFAULT_WRITTEN)
    assert NOUN_TEMPLATES not in {r.source for r in plain}
    assert {r.split for r in plain} == {"train"}
    every, every_left_out = written_rows()
    assert [r for r in every if r.source != NOUN_TEMPLATES] == plain
    assert every_left_out >= plain_left_out


def test_a_category_one_source_labels_is_thresholded_on_that_source_alone() -> None:
    # "chat" labels severity: its severe rows score 0.9 or 0.3, its abuse that is not severe 0.6. "news" labels no
    # severity on its abuse, only its clean rows (0), which all score low: beside them 0.1 looks safe.
    severe = np.array([0.9] * 5 + [0.3] * 5 + [0.6] * 5 + [0.05] * 5 + [0.05] * 80)
    labels = np.array([1.0] * 10 + [0.0] * 10 + [0.0] * 80, dtype=np.float32)
    sources = np.array(["chat"] * 20 + ["news"] * 80)
    scores, targets = np.tile(severe[:, None], 7), np.tile(labels[:, None], 7)
    mixed, _ = choose_thresholds(scores, targets)
    alone, _ = choose_thresholds(scores, targets, sources)
    assert mixed["severe_toxicity"] == 0.1  # F1's best; 5 false positives in 90 clean rows, within the 10% ceiling
    assert alone["severe_toxicity"] == 0.65  # on chat's rows alone the 0.6 abuse is half the clean rows
    # Where two sources have positives, both count as before.
    targets[95:, :] = 1.0
    assert choose_thresholds(scores, targets, sources)[0] == choose_thresholds(scores, targets)[0]


def test_train_without_a_datasets_folder_says_where_it_looked_and_how_to_point_elsewhere(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    command = [sys.executable, "-m", "service.cli", "train", "toxicity"]
    env = {**os.environ, "MODERATION_DATASETS_DIR": str(missing)}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 2
    assert str(missing) in done.stderr and "--datasets DIR" in done.stderr and "MODERATION_DATASETS_DIR" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _row(text: str, source: str, toxic: bool, split: str = "train") -> Row:
    labels = dict.fromkeys(CATEGORIES, 0.0)
    if toxic:
        labels |= {"toxicity": 1.0, "identity_attack": 1.0}
    return Row(text, source, labels, split)


def test_clean_rows_that_name_a_group_weigh_as_much_as_the_attacks_that_do_within_a_bound() -> None:
    rows = [
        *(_row(f"those muslims are a plague {i}", "forum", toxic=True) for i in range(2)),
        _row("my muslim neighbour bakes bread", "forum", toxic=False),
        *(_row(f"the bus was late again {i}", "forum", toxic=False) for i in range(6)),
        *(_row(f"gay people ruin everything {i}", "tweets", toxic=True) for i in range(40)),
        _row("a gay couple runs the cafe", "tweets", toxic=False),
        _row("a gay couple runs the shop", "tweets", toxic=False, split="validation"),
    ]
    balanced, factors = balance_identity_mentions(rows)
    # Identity attacks are most of these training rows, so they carry no positive weight: 2 attacks against 1.
    assert factors["forum"] == 2.0
    assert factors["tweets"] == IDENTITY_BALANCE_MAX
    weights = {row.text: row.weight for row in balanced}
    assert weights["my muslim neighbour bakes bread"] == factors["forum"]
    assert weights["a gay couple runs the cafe"] == IDENTITY_BALANCE_MAX
    assert weights["a gay couple runs the shop"] == 1.0, "only training rows are weighed"
    assert weights["the bus was late again 0"] == 1.0, "rows that name no group keep their weight"
    assert weights["those muslims are a plague 0"] == 1.0, "the attacks keep theirs"


def test_sentences_the_project_wrote_keep_the_weight_they_were_written_with() -> None:
    rows = [
        *(_row(f"gay people ruin everything {i}", "contrast", toxic=True) for i in range(40)),
        _row("gay people do not ruin anything", "contrast", toxic=False),
    ]
    balanced, factors = balance_identity_mentions(rows)
    assert factors["contrast"] == 1.0
    assert {row.weight for row in balanced} == {1.0}
