"""The labeled conspiracy sources in the shared datasets, read into one shape: a text, its source, a label in [0, 1].

PsyCoMark (Reddit submission statements) says Yes, No or Can't tell; PAN 2024 (Telegram posts about COVID-19)
says CONSPIRACY or CRITICAL, where CRITICAL posts oppose the mainstream without a conspiracy: hard negatives. PAN's
texts come pre-tokenised (`do n't`, `https :// t . me / x`): they are detokenised and their links removed, or a
model would learn the tokeniser and the links as the mark of one source.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelling.toxicity_data import FeedbackRows, Labels, hash_draw, read_csv, split_of, text_key
from service.categories import CONSPIRACY

# What a `Can't tell` row of PsyCoMark counts as; None drops it. Chosen by measurement (the model card).
Unsure = float | None
# Ordinary comments taken as negatives by `--source ordinary-comments`: about the size of each claim source.
ORDINARY_TRAINING_ROWS = 4_000


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
    files: tuple[str, ...]  # under the datasets folder, or absolute paths (a site's feedback exports)
    read: Callable[[Path, Unsure], Iterator[tuple[str, float, bool]]]
    # In a training run unless named otherwise (`moderation train conspiracy --source`); a source joins the default
    # set when a model trained with it ships, so that the default command rebuilds the shipped artifact.
    default: bool = True


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


def _moses() -> Any:
    # Imported when PAN's posts are read: sacremoses takes longer to import than the rest of `moderation`'s start.
    from sacremoses import MosesDetokenizer

    return MosesDetokenizer(lang="en")


@dataclass
class _Detokenizer:
    moses: Any

    def __call__(self, text: str) -> str:
        without_links = _LINK.sub(" ", text)
        joined = self.moses.detokenize(without_links.split())
        joined = _CLITIC.sub(r"\1\2", joined)
        joined = _CLOSING.sub(r"\1", _OPENING.sub(r"\1", joined))
        return _SPACES.sub(" ", joined).strip()


def detokenize(text: str) -> str:
    """PAN's pre-tokenised text as it would have been written, without its links."""
    return _Detokenizer(_moses())(text)


def _psycomark_labels(path: Path, unsure: Unsure) -> Iterator[tuple[str, float, bool]]:
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = row["label"]
            if label == "Yes":
                yield row["text"], 1.0, False
            elif label == "No":
                yield row["text"], 0.0, False
            elif unsure is not None:
                yield row["text"], unsure, True


def _psycomark(root: Path, unsure: Unsure) -> Iterator[tuple[str, float, bool]]:
    return _psycomark_labels(root / "psycomark-conspiracy.csv", unsure)


def _psycomark_dev(root: Path, unsure: Unsure) -> Iterator[tuple[str, float, bool]]:
    return _psycomark_labels(root / "psycomark-dev.csv", unsure)


def _pan(root: Path, unsure: Unsure) -> Iterator[tuple[str, float, bool]]:
    detokenizer = _Detokenizer(_moses())
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
        ("psycomark-conspiracy.csv",),
        _psycomark,
    ),
    Source(
        "pan2024",
        "Telegram posts about COVID-19 (CONSPIRACY against CRITICAL: oppositional without a conspiracy), "
        "detokenised, links removed",
        "PAN 2024 Oppositional thinking analysis (Korenčić et al.), English training set, via Boffl/pan-clef-2024; "
        "CC BY-SA 4.0",
        ("pan2024-oppositional-en.csv",),
        _pan,
    ),
    Source(
        "psycomark-dev",
        "PsyCoMark's dev split: Reddit submission statements (Yes, No, Can't tell), rows that repeat a training "
        "text removed",
        "PsyCoMark, SemEval-2026 Task 10, via Ishaank1805/conspiracy-span-extraction; research data, no licence is "
        "stated",
        ("psycomark-dev.csv",),
        _psycomark_dev,
        default=False,
    ),
    Source(
        "ordinary-comments",
        f"reader comments that make no claim as far as anyone labelled them (news-site, Fox News and Wikipedia talk "
        f"comments of the toxicity datasets), all negatives, at most {ORDINARY_TRAINING_ROWS:,} drawn by text hash",
        "Civil Comments via Toxic Spans (CC0), Gao & Huang's Fox News comments (MIT), Wikipedia Talk via Jigsaw "
        "(CC BY-SA 3.0)",
        ("toxic-spans/comments.csv", "fox-news-comments.csv", "wikipedia-talk.csv"),
        lambda root, unsure: _ordinary_negatives(root),
        default=False,
    ),
    Source(
        "news-reports",
        "hand-written news-report sentences that state documented links, findings and hidden dealings with their "
        "source (modelling/news_reports.py), all negatives",
        "written for this project",
        (),
        lambda root, unsure: _news_report_negatives(),
        default=False,
    ),
)
SOURCE_NAMES = tuple(source.name for source in SOURCES)
DEFAULT_SOURCES = tuple(source for source in SOURCES if source.default)
FEEDBACK = "feedback"


def feedback_label(attribute: str, value: float) -> Labels | None:
    """A feedback row's conspiracy label; every other attribute is toxicity training's."""
    return {CONSPIRACY: value} if attribute == CONSPIRACY else None


def feedback_source(feedback: FeedbackRows, paths: Iterable[Path]) -> Source:
    """The conspiracy labels of `moderation feedback export` files (read with `feedback_label`) as one more source,
    split by text hash like the others; a label between 0 and 1 is a soft label."""
    labelled = [(text, float(labels[CONSPIRACY] or 0.0)) for text, labels in feedback.texts]

    def read(_: Path, unsure: Unsure) -> Iterator[tuple[str, float, bool]]:
        for text, label in labelled:
            yield text, label, False

    return Source(
        FEEDBACK,
        "the site's own moderators' conspiracy labels (moderation-queue decisions on flagged comments)",
        "the site's own",
        tuple(str(path.resolve()) for path in paths),
        read,
    )


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


# Reader comments that make no claim as far as anyone labelled them: what most of a news site's thread looks like.
ORDINARY_FILES = (
    ("toxic-spans/comments.csv", "comment_text"),
    ("fox-news-comments.csv", "text"),
    ("wikipedia-talk.csv", "text"),
)


def ordinary_comments(root: Path) -> list[str]:
    """News-site comments, Fox News comments and Wikipedia talk comments from the toxicity datasets, each text once:
    the negatives a news-mix review threshold is chosen on (none of them was labelled for conspiracy)."""
    found: dict[str, str] = {}
    for name, column in ORDINARY_FILES:
        for row in read_csv(root / name):
            if key := text_key(row[column]):
                found.setdefault(key, row[column])
    return list(found.values())


def _ordinary_negatives(root: Path) -> Iterator[tuple[str, float, bool]]:
    """Ordinary comments as training negatives: a news site's thread is mostly these, and run E found the model
    could not tell a claim from a reader's opinion. Capped by text hash to about a source's size."""
    comments = ordinary_comments(root)
    share = min(1.0, ORDINARY_TRAINING_ROWS / max(1, len(comments)))
    for text in comments:
        if hash_draw(text_key(text)) < share:
            yield text, 0.0, False


def _news_report_negatives() -> Iterator[tuple[str, float, bool]]:
    from modelling.news_reports import news_report_sentences

    for text in news_report_sentences():
        yield text, 0.0, False


def missing_files(root: Path, sources: Iterable[Source] = DEFAULT_SOURCES) -> list[Path]:
    return [root / name for source in sources for name in source.files if not (root / name).is_file()]
