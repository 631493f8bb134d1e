"""The hand-written news-report negatives: distinct, attributed or reporting a finding, kept away from the suites and
the seed comments and article, and read by the `news-reports` conspiracy source as negatives."""

from __future__ import annotations

import json
from pathlib import Path

from modelling import news_reports
from modelling.conspiracy_data import DEFAULT_SOURCES, SOURCES, missing_files, read_source
from modelling.news_reports import news_report_sentences
from modelling.toxicity_data import text_key
from modelling.toxicity_training import project_test_runs, word_runs
from tests.conftest import ROOT


def _seed_runs() -> set[tuple[str, ...]]:
    comments = json.loads((ROOT / "tests" / "data" / "seed_comments.json").read_text(encoding="utf-8"))["comments"]
    return {run for comment in comments for run in word_runs(comment["text"])}


def test_sentences_are_distinct_filled_and_far_from_every_test_text() -> None:
    sentences = news_report_sentences()
    assert len(sentences) >= 150
    assert len({text_key(t) for t in sentences}) == len(sentences)
    assert not any("{" in t or "}" in t for t in sentences)
    assert all(t[0].isupper() and t.endswith(".") for t in sentences)
    near = project_test_runs() | _seed_runs()
    assert not any(word_runs(t) & near for t in sentences)


def test_the_filter_drops_what_is_near_a_test_text() -> None:
    written = list(dict.fromkeys(news_reports._written()))
    kept = news_report_sentences()
    dropped = [t for t in written if t not in kept]
    # A common run of words ("behind closed doors and") meets a suite sentence now and then: each dropped sentence
    # is near a test text, each kept one is not.
    near = project_test_runs() | _seed_runs()
    assert dropped and all(word_runs(t) & near for t in dropped)


def test_every_frame_is_filled_from_each_list_in_turn() -> None:
    sentences = " ".join(news_reports._written())
    for fillers in (news_reports._LEADERS, news_reports._GROUPS, news_reports._PLACES):
        assert all(filler.lower() in sentences.lower() for filler in fillers)


def test_the_news_reports_source_reads_them_as_negatives_with_hash_splits(tmp_path: Path) -> None:
    source = next(s for s in SOURCES if s.name == "news-reports")
    assert source not in DEFAULT_SOURCES
    assert missing_files(tmp_path, [source]) == []  # written here, no dataset file needed
    rows = read_source(source, tmp_path, 1, 0.5, frozenset())
    assert [r.text for r in rows] == news_report_sentences()
    assert {r.label for r in rows} == {0.0} and not any(r.unsure for r in rows)
    assert {r.split for r in rows} == {"train", "validation", "test"}
    excluded = read_source(source, tmp_path, 1, 0.5, frozenset({text_key(rows[0].text)}))
    assert [r.text for r in excluded] == [r.text for r in rows[1:]]
