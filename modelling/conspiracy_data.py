"""The labeled conspiracy sources in the shared datasets, read into one shape: a text, its source, a label in [0, 1].

PsyCoMark (Reddit submission statements) says Yes, No or Can't tell; PAN 2024 (Telegram posts about COVID-19)
says CONSPIRACY or CRITICAL, where CRITICAL posts oppose the mainstream without a conspiracy: hard negatives. PAN's
texts come pre-tokenised (`do n't`, `https :// t . me / x`): they are detokenised and their links removed, or a
model would learn the tokeniser and the links as the mark of one source.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sacremoses import MosesDetokenizer

from modelling.toxicity_data import split_of, text_key

# What a `Can't tell` row of PsyCoMark counts as; None drops it. Chosen by measurement (the model card).
Unsure = float | None


@dataclass(frozen=True)
class Row:
    text: str
    source: str
    label: float  # 1 conspiracy, 0 not; a share in between for a row its raters could not place
    split: str  # train, validation or test
    unsure: bool = False  # a `Can't tell` row


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    licence: str
    file: str
    read: Callable[[Path, Unsure], Iterator[tuple[str, float, bool]]]


# A link as PAN's tokeniser left it: `https :// t . me / channel`, `www . site . org / a - b /`, `t . me / x`.
_PIECE = r"[\w%~+=&#?@-]+"
_JOIN = r"\s*[./\-_?=&#:%]+\s*"
_LINK = re.compile(
    rf"(?:https?\s*:\s*//\s*|\bwww\s*\.\s*|\bt\s*\.\s*me\s*/\s*){_PIECE}(?:{_JOIN}{_PIECE})*(?:\s*/)?", re.IGNORECASE
)
# Clitics and quotes Moses leaves apart in PAN's tokens: `do n't`, `I \u2019m`, `\u201c word \u201d`.
_APOSTROPHES = "'\u2019"
_CLITIC = re.compile(rf"(\w)\s+(n[{_APOSTROPHES}]t|[{_APOSTROPHES}](?:s|m|re|ve|ll|d))\b", re.IGNORECASE)
_OPENING = re.compile("([\u201c\u2018(\\[])\\s+")
_CLOSING = re.compile("\\s+([\u201d)\\]])")
_SPACES = re.compile(r"[ \t]+")


@dataclass
class _Detokenizer:
    moses: MosesDetokenizer

    def __call__(self, text: str) -> str:
        without_links = _LINK.sub(" ", text)
        joined = self.moses.detokenize(without_links.split())
        joined = _CLITIC.sub(r"\1\2", joined)
        joined = _CLOSING.sub(r"\1", _OPENING.sub(r"\1", joined))
        return _SPACES.sub(" ", joined).strip()


def detokenize(text: str) -> str:
    """PAN's pre-tokenised text as it would have been written, without its links."""
    return _Detokenizer(MosesDetokenizer(lang="en"))(text)


def _psycomark(root: Path, unsure: Unsure) -> Iterator[tuple[str, float, bool]]:
    with (root / "psycomark-conspiracy.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = row["label"]
            if label == "Yes":
                yield row["text"], 1.0, False
            elif label == "No":
                yield row["text"], 0.0, False
            elif unsure is not None:
                yield row["text"], unsure, True


def _pan(root: Path, unsure: Unsure) -> Iterator[tuple[str, float, bool]]:
    detokenizer = _Detokenizer(MosesDetokenizer(lang="en"))
    with (root / "pan2024-oppositional-en.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = {"CONSPIRACY": 1.0, "CRITICAL": 0.0}.get(row["label"])
            if label is not None:
                yield detokenizer(row["text"]), label, False


SOURCES: tuple[Source, ...] = (
    Source(
        "psycomark",
        "Reddit submission statements (expresses a conspiracy belief: Yes, No, Can't tell)",
        "PsyCoMark, SemEval-2026 Task 10 (Samory, Soldner, Batzdorfer), via sudeepben/psycomark-project; research "
        "data, no licence is stated in the copy it came from",
        "psycomark-conspiracy.csv",
        _psycomark,
    ),
    Source(
        "pan2024",
        "Telegram posts about COVID-19 (CONSPIRACY against CRITICAL: oppositional without a conspiracy), "
        "detokenised, links removed",
        "PAN 2024 Oppositional thinking analysis (Korenčić et al.), English training set, via Boffl/pan-clef-2024; "
        "CC BY-SA 4.0",
        "pan2024-oppositional-en.csv",
        _pan,
    ),
)
SOURCE_NAMES = tuple(source.name for source in SOURCES)


def read_source(source: Source, root: Path, seed: int, unsure: Unsure, exclude: frozenset[str]) -> list[Row]:
    """One source's rows with splits drawn from each text's hash (75/10/15); duplicates keep their first label,
    and the project's own test sentences (`exclude`) are dropped."""
    rows: list[Row] = []
    seen: set[str] = set()
    for text, label, is_unsure in source.read(root, unsure):
        key = text_key(text)
        if not key or key in seen or key in exclude:
            continue
        seen.add(key)
        rows.append(Row(text, source.name, label, split_of(key, seed), is_unsure))
    return rows


def missing_files(root: Path) -> list[Path]:
    return [root / source.file for source in SOURCES if not (root / source.file).is_file()]
