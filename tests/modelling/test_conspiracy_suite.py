"""The project's own functional conspiracy suite, scored by the shipped models through the service pipeline.

tests/data/functional_conspiracy.jsonl holds hand-written comments and news sentences, grouped by behaviour: claims
of puppet-masters, staged events, cover-ups and secret plans that must be flagged `conspiracy`; criticism without
a plot, reports about conspiracy theories, debunking, neutral news about agencies and ordinary opinions that must
not be. Neither source is in that register (Reddit statements, Telegram posts about COVID-19), so the suite asks
what the model does with comments under news articles. Training drops every one of these sentences from the sources
(modelling/conspiracy_training.py).

Each behaviour's pass rate is pinned at what the shipped model scored, rounded down (FLOORS); the run writes
var/functional_conspiracy_report.md with every failing sentence and its score.
"""

from __future__ import annotations

from collections import Counter

import pytest

from modelling import functional_suite
from modelling.functional_suite import CONSPIRACY_SUITE_FILE, Case, load_cases, pass_rate
from service.app import load_engine
from service.config import Settings
from service.schemas import Verdict
from tests.conftest import ROOT

REPORT_FILE = ROOT / "var" / "functional_conspiracy_report.md"
MIN_SENTENCES = 20

# What the shipped model passed, rounded down to two places: the regression guard.
FLOORS = {
    "puppet_masters": 0.08,
    "staged_events": 0.2,
    "cover_ups": 0.12,
    "secret_plans": 0.48,
    "critical_no_plot": 0.96,
    "reporting_on_conspiracies": 0.88,
    "debunking": 0.76,
    "neutral_news_agencies": 1.0,
    "ordinary_opinions": 1.0,
}
CASES = load_cases(CONSPIRACY_SUITE_FILE)


@pytest.fixture(scope="module")
def results() -> dict[str, list[tuple[Case, Verdict]]]:
    grouped = functional_suite.run(load_engine(Settings.model_validate({})), CASES)
    rates = functional_suite.write_report(
        grouped, "Functional conspiracy suite", REPORT_FILE, lambda v: f"conspiracy {v.scores['conspiracy']:.2f}"
    )
    print(rates)
    return grouped


def test_every_behaviour_has_enough_hand_written_sentences() -> None:
    counts = Counter(case.behaviour for case in CASES)
    assert set(counts) == set(FLOORS)
    assert min(counts.values()) >= MIN_SENTENCES
    assert len({case.text for case in CASES}) == len(CASES)
    assert {case.expect or case.forbid for case in CASES} == {("conspiracy",)}


@pytest.mark.parametrize("behaviour", sorted(FLOORS))
def test_pass_rate_holds(results: dict[str, list[tuple[Case, Verdict]]], behaviour: str) -> None:
    scored = results[behaviour]
    failing = [(c.text, round(v.scores["conspiracy"], 2)) for c, v in scored if not c.passes(v)]
    assert pass_rate(scored) >= FLOORS[behaviour], failing
