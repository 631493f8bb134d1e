"""`moderation train conspiracy` on tiny data: the artifact, its card's tables, and the same bytes twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelling import conspiracy_training as training
from tests.conftest import ROOT
from tests.tiny_datasets import write_tiny_conspiracy_datasets


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
