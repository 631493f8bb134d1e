"""The project's own functional toxicity suite, scored by the shipped model through the service pipeline.

tests/data/functional_toxicity.jsonl holds hand-written sentences, grouped by behaviour: threats, dehumanising
comparisons, derogation without swear words, implied derogation, slurs, obfuscated spellings and emoji that must be
flagged; neutral and positive identity mentions, counter-speech, negated hate, criticism of ideas and news paragraphs
that must not be; untargeted profanity that may be obscene but never an identity attack or a threat. Training drops
every one of these sentences from its sources (modelling/toxicity_training.py).

The artifacts are committed and deterministic, so each behaviour's pass rate is pinned at what the shipped model
scored, rounded down (FLOORS): a change that lowers one is a regression. The run prints the table and writes
var/functional_suite_report.md with every failing sentence and its flags.
"""

from __future__ import annotations

from collections import Counter

import pytest

from modelling import functional_suite
from modelling.functional_suite import Case, load_cases, pass_rate
from service.app import load_engine
from service.config import Settings
from service.schemas import Verdict
from tests.conftest import ROOT

REPORT_FILE = ROOT / "var" / "functional_suite_report.md"
MIN_SENTENCES = 20

# What the shipped model passed, rounded down to two places: the regression guard.
FLOORS = {
    "threat_person": 0.75,
    "threat_person_profane": 0.87,
    "threat_group": 0.87,
    "dehumanising": 0.87,
    "hate_no_swear": 0.68,
    "implied_derogation": 0.53,
    "slurs": 0.71,
    "obfuscated": 0.62,
    "emoji_hate": 0.96,
    "identity_neutral_short": 1.0,
    "identity_noun": 0.93,
    "identity_positive": 0.96,
    "counter_speech": 0.83,
    "negated_hate": 0.93,
    "criticism_of_ideas": 0.87,
    "news_paragraphs": 1.0,
    "profanity_untargeted": 1.0,
}
CASES = load_cases()


@pytest.fixture(scope="module")
def results() -> dict[str, list[tuple[Case, Verdict]]]:
    grouped = functional_suite.run(load_engine(Settings.model_validate({})), CASES)
    rates = functional_suite.write_report(grouped, "Functional suite", REPORT_FILE, lambda v: f"flags {v.flags}")
    print(rates)
    return grouped


def test_every_behaviour_has_enough_hand_written_sentences() -> None:
    counts = Counter(case.behaviour for case in CASES)
    assert set(counts) == set(FLOORS)
    assert min(counts.values()) >= MIN_SENTENCES
    assert len({case.text for case in CASES}) == len(CASES)


@pytest.mark.parametrize("behaviour", sorted(FLOORS))
def test_pass_rate_holds(results: dict[str, list[tuple[Case, Verdict]]], behaviour: str) -> None:
    scored = results[behaviour]
    failing = [(c.text, v.flags) for c, v in scored if not c.passes(v)]
    assert pass_rate(scored) >= FLOORS[behaviour], failing
