"""`moderation train conspiracy` on tiny data: the artifact, its card's tables, and the same bytes twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from modelling import conspiracy_training as training
from modelling.conspiracy_data import DEFAULT_SOURCES, SOURCES, feedback_label, feedback_source
from modelling.toxicity_data import read_feedback
from tests.conftest import ROOT
from tests.tiny_datasets import write_tiny_conspiracy_datasets, write_tiny_datasets


@pytest.fixture(scope="module")
def splits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("splits")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, splits: Path) -> list[training.TrainReport]:
    datasets = write_tiny_conspiracy_datasets(tmp_path_factory.mktemp("datasets"), rows=24)
    return [training.train(datasets, tmp_path_factory.mktemp("artifacts"), epochs=1, splits=splits) for _ in range(2)]


def test_two_runs_write_the_same_artifact(runs: list[training.TrainReport]) -> None:
    first, second = runs
    assert first.artifact.read_bytes() == second.artifact.read_bytes()
    branch = first.artifact.with_suffix(".branch.safetensors").name
    assert (first.artifact.parent / branch).read_bytes() == (second.artifact.parent / branch).read_bytes()


def test_the_artifact_names_its_sources_choice_and_threshold(runs: list[training.TrainReport]) -> None:
    payload = json.loads(runs[0].artifact.read_text())
    assert set(payload["datasets"]) == {"psycomark", "pan2024"}
    assert payload["cant_tell"] in training.UNSURE_CHOICES
    assert 0.05 <= payload["review_threshold"] <= 0.95
    assert payload["threshold_rule"] == training.THRESHOLD_RULE
    assert payload["languages"] == ["en"]


def test_the_test_rows_are_written_for_moderation_eval(runs: list[training.TrainReport], splits: Path) -> None:
    rows = (splits / "conspiracy-test.csv").read_text().splitlines()
    assert rows[0] == "text,label,source"
    assert len(rows) - 1 == runs[0].test_rows


def test_the_card_has_per_source_and_left_out_tables(runs: list[training.TrainReport]) -> None:
    card = runs[0].card.read_text()
    for heading in ("## PsyCoMark's `Can't tell` rows", "## Test figures, per source", "## Each source left out"):
        assert heading in card
    assert "(chosen)" in card
    assert "| psycomark |" in card and "| pan2024 |" in card
    assert "CC BY-SA 4.0" in card and "no licence is stated" in card
    assert "MCC" in runs[0].summary


def test_without_the_pan_file_the_command_names_it(tmp_path: Path) -> None:
    datasets = write_tiny_conspiracy_datasets(tmp_path / "datasets")
    (datasets / "pan2024-oppositional-en.csv").unlink()
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "train", "conspiracy", "--datasets", str(datasets),
         "--artifacts", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "pan2024-oppositional-en.csv" in done.stderr


def test_the_news_mix_threshold_keeps_ordinary_comments_sources_negatives_and_the_article_within_bounds() -> None:
    labels = np.array([1] * 10 + [0] * 10)
    scores = np.array([0.9] * 5 + [0.5] * 5 + [0.45] * 1 + [0.1] * 9)  # one source negative at 0.45 (10%)
    ordinary = np.array([0.42] * 2 + [0.05] * 98)  # 2% of ordinary comments at 0.42
    assert training.choose_news_threshold(labels, scores, ordinary, np.array([0.1])) == 0.15
    assert training.choose_news_threshold(labels, scores, ordinary, np.array([0.3])) == 0.35  # above the article
    assert training.choose_news_threshold(labels, scores, np.array([0.42] * 3 + [0.05] * 97), np.array([])) == 0.45


def test_a_news_mix_run_with_the_dev_rows_and_a_sites_labels(tmp_path: Path) -> None:
    datasets = write_tiny_datasets(tmp_path / "datasets")
    export = tmp_path / "feedback.csv"
    export.write_text(
        "text,attribute,value,source\n"
        "the mayor is a lizard who staged the flood,conspiracy,1,queue\n"
        "the flood barrier failed after a week of rain,conspiracy,0,queue\n"
        "the flood barrier failed after a week of rain,toxicity,0,queue\n",
        encoding="utf-8",
    )
    read = read_feedback([export], feedback_label)
    feedback = feedback_source(read, [export])
    assert read.rows == 3 and len(read.texts) == 2 and read.skipped["toxicity"] == 1
    dev = next(s for s in SOURCES if s.name == "psycomark-dev")
    report = training.train(
        datasets, tmp_path / "out", epochs=1, splits=tmp_path / "splits",
        sources=(*DEFAULT_SOURCES, dev), extra=[feedback], review_rule="news-mix",
    )  # fmt: skip
    payload = json.loads(report.artifact.read_text())
    assert payload["threshold_rule"] == training.NEWS_MIX_RULE
    assert set(payload["rows"]) == {"psycomark", "pan2024", "psycomark-dev", "feedback"}
    assert payload["datasets"]["feedback"] == {"feedback.csv": payload["datasets"]["feedback"]["feedback.csv"]}
    assert isinstance(payload["datasets"]["psycomark"], str)
    assert payload["ordinary_comments"]["paragraphs"] == 14
    assert payload["ordinary_comments"]["validation"] + payload["ordinary_comments"]["test"] > 0
    assert all("ordinary_flagged" in point for point in payload["operating_points"])
    card = report.card.read_text()
    assert "Ordinary reader comments" in card and "| puppet_masters | flags conspiracy |" in card


def test_a_source_of_the_other_task_is_refused_in_one_line(tmp_path: Path) -> None:
    datasets = write_tiny_conspiracy_datasets(tmp_path / "datasets")
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "train", "conspiracy", "--datasets", str(datasets),
         "--source", "dynahate"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "moderation: --source dynahate is not a conspiracy source"
