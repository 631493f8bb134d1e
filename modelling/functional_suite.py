"""The project's functional suites: hand-written sentences by behaviour, each with what must be flagged and what
must not. `make test` pins the shipped models' pass rates; `moderation train toxicity` prints the toxicity suite's
in its card (the conspiracy card does not carry its suite yet).

The suites live in tests/data/ (functional_toxicity.jsonl, functional_conspiracy.jsonl), apart from every training
source, and training drops their sentences from the sources, so they measure behaviour the models were not fitted to.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.categories import TOXICITY_CATEGORIES
from service.schemas import Verdict
from service.scoring.engine import ScoringEngine
from service.scoring.normalize import normalize

_SUITES = Path(__file__).resolve().parent.parent / "tests" / "data"
SUITE_FILE = _SUITES / "functional_toxicity.jsonl"
CONSPIRACY_SUITE_FILE = _SUITES / "functional_conspiracy.jsonl"
SEED_FILE = _SUITES / "seed_comments.json"


@dataclass(frozen=True)
class Case:
    behaviour: str
    text: str
    expect: tuple[str, ...]  # categories that must be flagged
    forbid: tuple[str, ...]  # categories that must not be

    def passes(self, verdict: Verdict) -> bool:
        flags = set(verdict.flags)
        return set(self.expect) <= flags and not (set(self.forbid) & flags)


def load_cases(path: Path = SUITE_FILE) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row: dict[str, Any] = json.loads(line)
        forbid = row.get("forbid", [])
        cases.append(
            Case(
                row["behaviour"],
                row["text"],
                tuple(row["expect"]),
                TOXICITY_CATEGORIES if forbid == "all" else tuple(forbid),
            )
        )
    return cases


def seed_texts(id_prefix: str = "") -> list[str]:
    """The seed comments' texts, those whose id starts with `id_prefix` ("seed-article-": the article's paragraphs);
    none where tests/data is not beside the package."""
    if not SEED_FILE.is_file():
        return []
    comments = json.loads(SEED_FILE.read_text(encoding="utf-8"))["comments"]
    return [str(c["text"]) for c in comments if str(c["id"]).startswith(id_prefix)]


def run(engine: ScoringEngine, cases: list[Case]) -> dict[str, list[tuple[Case, Verdict]]]:
    """Every case scored in one call, grouped by behaviour in the suite's order."""
    grouped: dict[str, list[tuple[Case, Verdict]]] = defaultdict(list)
    for case, verdict in zip(cases, engine.score([normalize(c.text) for c in cases]), strict=True):
        grouped[case.behaviour].append((case, verdict))
    return dict(grouped)


def pass_rate(scored: list[tuple[Case, Verdict]]) -> float:
    return sum(case.passes(verdict) for case, verdict in scored) / len(scored)


def table(grouped: dict[str, list[tuple[Case, Verdict]]]) -> str:
    lines = ["| behaviour | expected | pass rate | sentences |", "|---|---|---|---|"]
    for behaviour, scored in grouped.items():
        case = scored[0][0]
        wanted = "flags " + " and ".join(case.expect) if case.expect else "no " + (
            "toxicity flag" if case.forbid == TOXICITY_CATEGORIES else " or ".join(case.forbid)
        )
        lines.append(f"| {behaviour} | {wanted} | {pass_rate(scored):.3f} | {len(scored)} |")
    return "\n".join(lines)


def write_report(
    grouped: dict[str, list[tuple[Case, Verdict]]], title: str, path: Path, describe: Callable[[Verdict], str]
) -> str:
    """The pass-rate table and every failing sentence, `describe` saying what the verdict gave it; returns the
    table."""
    rates = table(grouped)
    lines = [f"# {title}", "", rates]
    for behaviour, scored in grouped.items():
        failing = [f"- {c.text!r}: {describe(v)}" for c, v in scored if not c.passes(v)]
        lines += ["", f"## {behaviour}: failing", "", *failing] if failing else []
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rates
