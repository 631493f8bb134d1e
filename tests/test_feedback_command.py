"""`moderation feedback export` against the test Redis, and `moderation train toxicity --extra` folding the exported
file into a tiny training run as the source `feedback`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import redis

from service.cli import main
from service.keys import Keys
from service.redis_server import LocalRedis, free_port
from service.store.feedback import CSV_COLUMNS, Feedback, FeedbackStore
from tests.conftest import KEY_PREFIX
from tests.tiny_datasets import write_tiny_datasets

RUDE = "you are a worthless idiot and I will hurt you"
FINE = "thanks for the clear report on the council budget"
COUNT = 30  # texts of each kind: enough that --sample 0.4 keeps some in every split


def _labels() -> list[Feedback]:
    """A site's labels as both routes store them: Coral's statuses and Perspective attributes, queue decisions."""
    entries: list[Feedback] = []
    for i in range(COUNT):
        rude, fine = f"site comment {i}: {RUDE}", f"site comment {i}: {FINE}"
        token = f"comment:{i}"
        entries += [
            Feedback(
                rude, "DELETED", 1.0, "suggestscore", community_id="Coral:https://news.example", client_token=token
            ),
            Feedback(rude, "PROFANITY", 1.0, "suggestscore", community_id="Coral:https://news.example"),
            Feedback(fine, "APPROVED", 1.0, "suggestscore", client_token=token),
        ]
    entries += [
        Feedback(f"queue comment: {RUDE}", "insult", 1.0, "queue", comment_id="q1"),
        Feedback(f"queue comment: {RUDE}", "conspiracy", 1.0, "queue", comment_id="q1"),
        Feedback("a stray label", "ATTACK_ON_AUTHOR", 0.9, "suggestscore"),
    ]
    return entries


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, redis_server: LocalRedis) -> None:
    """The CLI reads Redis from the environment, as the service does."""
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("REDIS_KEY_PREFIX", KEY_PREFIX)


@pytest.fixture
def stored(redis_client: redis.Redis) -> list[Feedback]:
    entries = _labels()
    FeedbackStore(redis_client, Keys(KEY_PREFIX)).add(entries)
    return entries


def _export(path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    assert main(["feedback", "export", str(path)]) == 0
    out = capsys.readouterr().out
    assert out == f"moderation: wrote {len(_labels())} feedback rows to {path}\n"
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        return list(reader)


@pytest.mark.usefixtures("settings_env")
def test_export_writes_every_label_oldest_first(
    stored: list[Feedback], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _export(tmp_path / "feedback.csv", capsys)
    assert [(r["text"], r["attribute"], float(r["value"]), r["source"]) for r in rows] == [
        (e.text, e.attribute, e.value, e.source) for e in stored
    ]
    first = rows[0]
    assert (first["community_id"], first["client_token"], first["comment_id"]) == (
        "Coral:https://news.example",
        "comment:0",
        "",
    )
    assert rows[-3]["comment_id"] == "q1" and rows[-3]["community_id"] == ""
    assert all(r["created_at"].endswith("Z") for r in rows)
    assert not list(tmp_path.glob(".*partial"))

    assert main(["feedback", "export", "-"]) == 0
    streamed = capsys.readouterr()
    assert streamed.out.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert len(list(csv.DictReader(streamed.out.splitlines()))) == len(stored)
    assert streamed.err == f"moderation: wrote {len(stored)} feedback rows to stdout\n"


@pytest.mark.usefixtures("settings_env")
def test_export_of_one_site_keeps_its_labels_only(
    redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    FeedbackStore(redis_client, Keys(KEY_PREFIX)).add(
        [
            Feedback(f"sport comment: {RUDE}", "insult", 1.0, "queue", comment_id="s1", site="sport"),
            Feedback(f"news comment: {FINE}", "toxicity", 0.0, "queue", comment_id="n1", site="news"),
        ]
    )
    target = tmp_path / "sport.csv"
    assert main(["feedback", "export", str(target), "--site", "sport"]) == 0
    assert capsys.readouterr().out == f"moderation: wrote 1 feedback rows to {target}\n"
    with target.open(newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["comment_id"], row["site"]) == ("s1", "sport")


def test_export_without_redis_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    target = tmp_path / "feedback.csv"
    assert main(["feedback", "export", str(target)]) == 1
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("moderation: cannot reach Redis") and "Traceback" not in captured.err
    assert "127.0.0.1" not in line  # the URL may hold a password: never echoed
    assert not target.exists() and not list(tmp_path.iterdir())


def test_train_refuses_a_file_without_the_columns_it_needs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    datasets = write_tiny_datasets(tmp_path / "datasets")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("comment,label\nhello,1\n", encoding="utf-8")
    assert main(["train", "toxicity", "--datasets", str(datasets), "--extra", str(wrong)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "text, attribute, value" in line and str(wrong) in line


@pytest.mark.usefixtures("settings_env")
def test_train_folds_the_export_in_as_the_feedback_source(
    stored: list[Feedback], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "feedback.csv"
    _export(export, capsys)
    datasets = write_tiny_datasets(tmp_path / "datasets")
    artifacts = tmp_path / "artifacts"
    command = ["train", "toxicity", "--datasets", str(datasets), "--extra", str(export), "--artifacts", str(artifacts)]
    assert main([*command, "--sample", "0.4", "--epochs", "1", "--leave-out", "none"]) == 0
    out = capsys.readouterr().out
    # 3 rows a pair of texts, merged per text; the conspiracy label and the attribute we do not answer are skipped.
    texts = 2 * COUNT + 1
    assert (
        f"moderation: {len(stored)} feedback rows from {export} give {texts} texts; skipped 2 rows training does not "
        "use (conspiracy 1, ATTACK_ON_AUTHOR 1)"
    ) in out
    assert f"moderation: wrote {artifacts / 'toxicity-minilm-top3.json'}" in out

    payload = json.loads((artifacts / "toxicity-minilm-top3.json").read_text())
    feedback = payload["sources"]["feedback"]
    counts = feedback["rows"]
    assert 0 < sum(counts.values()) <= texts and counts["train"] > 0
    assert list(feedback["files"]) == ["feedback.csv"]  # the name, not this machine's path
    card = (artifacts / "toxicity-minilm-top3.md").read_text()
    assert "| `feedback` | the site's own moderators' labels" in card
    assert f"| {counts['train']} / {counts['validation']} / {counts['test']} |" in card
    # Its held-out rows are measured like every source's, in the printed table and the card.
    assert counts["test"] > 0 and "feedback" in payload["figures"]["per_source"]
    assert "\n| feedback | " in out and "\n| feedback | " in card
