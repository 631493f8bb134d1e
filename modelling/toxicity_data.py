"""The labeled toxicity sources in the shared datasets, read into one shape: soft labels for the seven categories.

Each source labels some categories and says nothing of others. A label is a share of raters (or 0/1 where a
source has one gold label); `None` means the source does not speak to that category, and training masks it out.
A row that a source calls not toxic at all is 0 in every category it speaks to: a text that is not toxic is not a
threat. The news comments also carry the character spans raters marked, with their type, for the per-token head.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from service.categories import PERSPECTIVE_ATTRIBUTES, SPAN_CATEGORIES, TOXICITY_CATEGORIES

CATEGORIES = TOXICITY_CATEGORIES
_SPAN_TYPES = {
    "Insult": "insult",
    "Insu": "insult",
    "Threat": "threat",
    "Identity based Attack": "identity_attack",
    "Profane/Obscene": "obscene",
}

Labels = dict[str, float | None]


@dataclass(frozen=True)
class Row:
    text: str
    source: str
    labels: Labels
    split: str  # train, validation or test
    # (start, end, {category: share of raters}) over `text`, news comments only
    spans: tuple[tuple[int, int, dict[str, float]], ...] = field(default=())
    weight: float = 1.0


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    licence: str
    files: tuple[str, ...]
    read: Callable[[Path], Iterator[tuple[str, Labels, str | None, tuple[tuple[int, int, dict[str, float]], ...]]]]
    weight: float = 1.0
    # The weight of rows with no positive label instead, where it differs: a source's contrasting twins can count
    # for more than its plain rows.
    negative_weight: float | None = None
    # Rows kept at most, after the split is drawn: the training budget on 2 cores. Positives are kept first.
    cap: int | None = None
    # In a training run unless named otherwise (`moderation train toxicity --source`); a source joins the default set
    # when a model trained with it ships, so that the default command rebuilds the shipped artifact.
    default: bool = True


def known_labels(**known: float | None) -> Labels:
    """The categories given, every other one unknown (None: masked in the loss)."""
    return {category: known.get(category) for category in CATEGORIES}


def clean_labels() -> Labels:
    """Not toxic in any category."""
    return dict.fromkeys(CATEGORIES, 0.0)


def _share(values: list[bool]) -> float:
    return sum(values) / len(values) if values else 0.0


def read_csv(path: Path) -> list[dict[str, str]]:
    """Every row of a UTF-8 CSV file, by its header's names."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


Read = Iterator[tuple[str, Labels, str | None, tuple[tuple[int, int, dict[str, float]], ...]]]


def _toxic_spans(root: Path) -> Read:
    folder = root / "toxic-spans"
    comments = {r["comment_id"]: r["comment_text"] for r in read_csv(folder / "comments.csv")}
    spans_by_annotation: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for span in read_csv(folder / "spans.csv"):
        spans_by_annotation[span["annotation"]].append((int(span["start"]), int(span["end"]), span["type"]))
    raters: dict[str, list[tuple[bool, list[tuple[int, int, str]]]]] = defaultdict(list)
    for annotation in read_csv(folder / "annotations.csv"):
        marked = spans_by_annotation.get(annotation["annotation"], [])
        # A rater who marked a span, or ticked "all toxic" without "not toxic", found the post toxic.
        toxic = bool(marked) or (annotation["all toxic"] == "True" and annotation["not toxic"] != "True")
        raters[annotation["comment_id"]].append((toxic, marked))
    for comment_id, text in comments.items():
        votes = raters.get(comment_id)
        if not votes:
            continue
        count = len(votes)
        labels = known_labels(toxicity=_share([toxic for toxic, _ in votes]))
        for category in ("insult", "threat", "identity_attack", "obscene"):
            labels[category] = _share([any(_SPAN_TYPES.get(t) == category for *_, t in marked) for _, marked in votes])
        # Each character's share of raters per category, merged into runs of equal shares.
        shares: list[dict[str, float]] = [{} for _ in text]
        for _, marked in votes:
            for category in SPAN_CATEGORIES:
                covered: set[int] = set()
                for start, end, kind in marked:
                    if category == "toxicity" or _SPAN_TYPES.get(kind) == category:
                        covered.update(range(max(0, start), min(len(text), end)))
                for index in covered:
                    shares[index][category] = shares[index].get(category, 0.0) + 1 / count
        yield text, clean_labels() if labels["toxicity"] == 0 else labels, None, tuple(_runs(shares))


def _runs(shares: list[dict[str, float]]) -> Iterator[tuple[int, int, dict[str, float]]]:
    start = 0
    for index in range(1, len(shares) + 1):
        if index == len(shares) or shares[index] != shares[start]:
            if shares[start]:
                yield start, index, {k: round(v, 4) for k, v in shares[start].items()}
            start = index


def _olid(root: Path) -> Read:
    for row in read_csv(root / "olid-training.csv"):
        if row["subtask_a"] == "NOT":
            yield row["tweet"], clean_labels(), None, ()
        elif row["subtask_b"] == "UNT":  # untargeted profanity: offensive, obscene, aimed at no one
            untargeted = known_labels(toxicity=1.0, obscene=1.0, insult=0.0, threat=0.0, identity_attack=0.0)
            yield row["tweet"], untargeted, None, ()
        else:  # a targeted insult or threat; which of the two is not said, most are insults
            yield row["tweet"], known_labels(toxicity=1.0, insult=0.8), None, ()


def _hatexplain(root: Path) -> Read:
    for row in read_csv(root / "hatexplain.csv"):
        if row["label"] == "0":
            yield row["text"], clean_labels(), None, ()
        elif row["label"] == "1":
            yield row["text"], known_labels(toxicity=1.0), None, ()
        else:
            yield row["text"], known_labels(toxicity=1.0, identity_attack=1.0), None, ()


_ABUSE_LEVELS = ("1", "0", "-1", "-2", "-3")  # not abusive ... very strongly abusive
_IDENTITY_ABUSE = ("ableist", "homophobic", "racist", "sexist", "transphobic")


def _rater_value(cell: str) -> float | None:
    """A ConvAbuse cell: empty, or one value per time the rater saw the message ("0, 1"): their mean."""
    values = [float(v) for v in cell.replace(" ", "").split(",") if v]
    return sum(values) / len(values) if values else None


def _convabuse(root: Path) -> Read:
    for name, split in (("train.csv", "train"), ("valid.csv", "validation"), ("test.csv", "test")):
        for row in read_csv(root / "convabuse" / name):
            raters = sorted({c.split("_", 1)[0] for c in row if c.startswith("Annotator")})
            abusive: list[float] = []
            severe: list[float] = []
            sexual: list[float] = []
            identity: list[float] = []
            personal: list[float] = []
            for rater in raters:
                levels = {level: _rater_value(row[f"{rater}_is_abuse.{level}"]) for level in _ABUSE_LEVELS}
                if all(v is None for v in levels.values()):
                    continue
                abuse = sum(levels[level] or 0.0 for level in ("-1", "-2", "-3"))
                abusive.append(abuse)
                severe.append(levels["-3"] or 0.0)
                sexual.append(_rater_value(row.get(f"{rater}_sex_harassment", "")) or 0.0)
                identity.append(max(_rater_value(row.get(f"{rater}_{kind}", "")) or 0.0 for kind in _IDENTITY_ABUSE))
                personal.append(abuse * (_rater_value(row.get(f"{rater}_target.individual", "")) or 0.0))
            if not abusive or not row["user"].strip():
                continue
            count = len(abusive)
            labels = known_labels(
                toxicity=sum(abusive) / count,
                severe_toxicity=sum(severe) / count,
                sexual_explicit=sum(sexual) / count,
                identity_attack=sum(identity) / count,
                insult=sum(personal) / count,
            )
            yield row["user"], clean_labels() if labels["toxicity"] == 0 else labels, split, ()


def _hatemoji(root: Path) -> Read:
    for name, split in (("train.csv", "train"), ("validation.csv", "validation"), ("test.csv", "test")):
        for row in read_csv(root / "hatemoji-build" / name):
            if row["label_gold"] == "1":
                threat = 1.0 if row["type"] == "threateninglanguage" else None
                yield row["text"], known_labels(toxicity=1.0, identity_attack=1.0, threat=threat), split, ()
            else:
                yield row["text"], clean_labels() | {"obscene": None}, split, ()


def _stormfront(root: Path) -> Read:
    for row in read_csv(root / "stormfront.csv"):
        if row["label"] == "hate":
            yield row["text"], known_labels(toxicity=1.0, identity_attack=1.0), None, ()
        elif row["label"] == "noHate":
            yield row["text"], clean_labels(), None, ()


def _toxigen(root: Path) -> Read:
    for row in read_csv(root / "toxigen-seeds.csv"):
        if row["label"] == "hate":
            yield row["text"], known_labels(toxicity=1.0, identity_attack=1.0), None, ()
        else:
            yield row["text"], clean_labels(), None, ()


def _wikipedia(root: Path) -> Read:
    for row in read_csv(root / "wikipedia-talk.csv"):
        yield row["text"], known_labels(toxicity=1.0) if row["label"] == "1" else clean_labels(), None, ()


def _davidson(root: Path) -> Read:
    for row in read_csv(root / "davidson-labeled.csv"):
        count = int(row["count"])
        hate, offensive = int(row["hate_speech"]) / count, int(row["offensive_language"]) / count
        if hate + offensive == 0:
            yield row["tweet"], clean_labels(), None, ()
        else:
            yield row["tweet"], known_labels(toxicity=hate + offensive, identity_attack=hate), None, ()


# --- hate sources: they say whether a text is hate, and their negatives include plain insults and swearing -------
# A negative is 0 for identity_attack only; toxicity, insult and obscene stay unknown (masked) for it. A positive is
# identity attack alone: with the negatives masked for toxicity, hate as toxicity 1 taught the general head that
# naming a group is toxic (run H: DynaHate's not-hate rows flagged for toxicity 13% -> 45%, news toxicity ROC-AUC
# 0.662 -> 0.596; docs/training-log.md).

_HATE = {"identity_attack": 1.0}
_NOT_HATE = {"identity_attack": 0.0}
_OWN_SPLITS = {"train": "train", "dev": "validation", "test": "test"}


def _carved_split(text: str, split: str) -> str:
    """A source that ships train and test only: a tenth of its training rows, by text hash, validates."""
    if split != "train":
        return split
    draw = hash_draw(f"validation:{text_key(text)}")
    return "validation" if draw < VALIDATION_SHARE else "train"


def _dynahate(root: Path) -> Read:
    for row in read_csv(root / "dynahate.csv"):
        labels = _HATE if row["label"] == "hate" else _NOT_HATE
        yield row["text"], known_labels(**labels), _OWN_SPLITS[row["split"]], ()


def _measuring_hate(root: Path) -> Read:
    for row in read_csv(root / "measuring-hate-speech.csv"):
        labels = _HATE if row["label"] == "1" else _NOT_HATE
        yield row["text"], known_labels(**labels), _OWN_SPLITS[row["split"]], ()


def _gab(root: Path) -> Read:
    """Assault on human dignity is identity attack, a call for violence is a threat, vulgar or offensive language is
    obscene; each label is 0 where the annotators' majority did not give it. A call for violence or vulgar language is
    toxic; hate alone speaks to identity attack only, as for the other hate sources. A post with none of them may
    still be rude, so its toxicity and insult stay unknown."""
    for row in read_csv(root / "gab-hate-corpus.csv"):
        hate, violence, vulgar = (float(row[c]) for c in ("hd", "cv", "vo"))
        toxic = 1.0 if violence or vulgar else None
        labels = known_labels(toxicity=toxic, identity_attack=hate, threat=violence, obscene=vulgar)
        yield row["text"], labels, _carved_split(row["text"], row["split"]), ()


def _dynacounter(root: Path) -> Read:
    """The hateful statements are identity attacks; the replies that argue against them are not. Replies that are
    not counter-speech (agreement, asides) say nothing either way and are left out."""
    for row in read_csv(root / "dynacounter.csv"):
        yield row["hateful_statement"], known_labels(**_HATE), None, ()
        if row["label"] == "counterspeech":
            yield row["response"], known_labels(**_NOT_HATE), None, ()


def _fox_news(root: Path) -> Read:
    for row in read_csv(root / "fox-news-comments.csv"):
        labels = _HATE if row["label"] == "1" else _NOT_HATE
        yield row["text"], known_labels(**labels), None, ()


SOURCES: tuple[Source, ...] = (
    Source(
        "toxic-spans",
        "news-site comments (Civil Comments, 2015-2017) with typed toxic spans, 3-7 raters each",
        "Pavlopoulos et al., ACL 2022 (ipavlopoulos/toxic_spans); CC0 1.0",
        ("toxic-spans/comments.csv", "toxic-spans/annotations.csv", "toxic-spans/spans.csv"),
        _toxic_spans,
        # The only news-site source, the kind of site the service is for: its rows count twice against the tweets.
        weight=2.0,
    ),
    Source(
        "olid",
        "tweets, OffensEval 2019 training set (offensive; targeted insult or threat; untargeted profanity)",
        "Zampieri et al., NAACL 2019; CC BY 4.0",
        ("olid-training.csv",),
        _olid,
    ),
    Source(
        "hatexplain",
        "Twitter and Gab posts (normal, offensive, hate speech)",
        "Mathew et al., AAAI 2021, via Media-Bias-Group/magpie-multi-task; Apache 2.0 (original data MIT)",
        ("hatexplain.csv",),
        _hatexplain,
        cap=12_000,
    ),
    Source(
        "convabuse",
        "messages users sent to conversational agents (abuse severity, sexual harassment, identity abuse)",
        "Cercas Curry et al., EMNLP 2021 (amandacurry/convabuse); CC BY 4.0",
        ("convabuse/train.csv", "convabuse/valid.csv", "convabuse/test.csv"),
        _convabuse,
    ),
    Source(
        "hatemoji-build",
        "adversarial hateful and non-hateful posts, many with emoji, in contrasting pairs",
        "Kirk et al., NAACL 2022 (HannahKirk/Hatemoji); CC BY 4.0",
        ("hatemoji-build/train.csv", "hatemoji-build/validation.csv", "hatemoji-build/test.csv"),
        _hatemoji,
        # Its contrasting pairs are the only rows that teach a quoted, negated or rejected slur from the real thing.
        weight=4.0,
    ),
    Source(
        "stormfront",
        "sentences from a white-supremacist forum (hate, noHate)",
        "de Gibert et al., 2018 (Vicomtech/hate-speech-dataset); CC BY-SA 3.0 ES",
        ("stormfront.csv",),
        _stormfront,
        cap=5_500,
    ),
    Source(
        "toxigen",
        "implicitly hateful and neutral statements about 16 groups (the ToxiGen authors' seed prompts)",
        "Hartvigsen et al., ACL 2022 (microsoft/TOXIGEN); MIT",
        ("toxigen-seeds.csv",),
        _toxigen,
    ),
    Source(
        "wikipedia-talk",
        "Wikipedia talk-page comments rated without their parent (59 toxic)",
        "Pavlopoulos et al., ACL 2020 (ipavlopoulos/context_toxicity); Apache 2.0",
        ("wikipedia-talk.csv",),
        _wikipedia,
        cap=4_000,
    ),
    Source(
        "davidson",
        "tweets voted hate speech / offensive / neither; weighted 0.1 for its dialect and identity-word bias",
        "Davidson et al., ICWSM 2017 (t-davidson/hate-speech-and-offensive-language); MIT",
        ("davidson-labeled.csv",),
        _davidson,
        weight=0.1,
        cap=6_000,
    ),
    Source(
        "dynahate",
        "adversarial hate written to fool models over four rounds, with perturbations that flip the label (quoting, "
        "negation, counter-speech and reclaimed words are not hate); hate / not hate, its own splits",
        "Vidgen et al., ACL 2021 (via paul-rottger/efficient-low-resource-hate-detection); no licence stated",
        ("dynahate.csv",),
        _dynahate,
        # Its not-hate rows are the perturbations that name the same group as a hateful twin: quoting, negation,
        # counter-speech. Run J flagged 18.8% of its test not-hate rows and read negated hate as hate; run L doubled
        # them (negated_hate and the hateful mean rose), run O counts them four times.
        negative_weight=4.0,
        default=False,
    ),
    Source(
        "measuring-hate-speech",
        "Reddit, YouTube and Twitter comments rated by several people each, majority hate vote, half hateful",
        "Kennedy et al. 2020; CC BY 4.0 upstream",
        ("measuring-hate-speech.csv",),
        _measuring_hate,
        # Half weight, as Gab's: their hate rows name a group beside a harm word with no contrasting twin. Run J
        # (half) and run I (full) measured alike; see docs/training-log.md.
        weight=0.5,
        default=False,
        cap=8_000,
    ),
    Source(
        "gab-hate-corpus",
        "Gab posts: assault on human dignity, call for violence, vulgar or offensive language (3+ annotators)",
        "Kennedy et al. 2022 (via liuchaoqun/hate-speech-datasets); no licence in this copy",
        ("gab-hate-corpus.csv",),
        _gab,
        weight=0.5,
        default=False,
        cap=8_000,
    ),
    Source(
        "dynacounter",
        "hateful statements and the replies written to argue against them",
        "Chung & Bright 2024 (Turing-Online-Safety-Codebase/counterspeech_adversarial); no licence stated",
        ("dynacounter.csv",),
        _dynacounter,
        default=False,
    ),
    Source(
        "fox-news",
        "reader comments under Fox News articles, hateful or not",
        "Gao & Huang, RANLP 2017 (sjtuprog/fox-news-comments); MIT",
        ("fox-news-comments.csv",),
        _fox_news,
        default=False,
    ),
)
SOURCE_NAMES = tuple(source.name for source in SOURCES)
DEFAULT_SOURCES = tuple(source for source in SOURCES if source.default)
# The source a second training run leaves out: the only news-site one, the kind of site the service is for.
DEFAULT_LEAVE_OUT = "toxic-spans"

# Shares of each source held out where the source ships no split of its own.
VALIDATION_SHARE = 0.10
TEST_SHARE = 0.15


def hash_draw(key: str) -> float:
    """A number in [0, 1] drawn from `key`'s hash: the same key draws the same number in every run."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_of(text: str, seed: int) -> str:
    """A split drawn from the text's hash: the same text lands in the same split in every run and every source."""
    draw = hash_draw(f"{seed}:{text}")
    if draw < TEST_SHARE:
        return "test"
    return "validation" if draw < TEST_SHARE + VALIDATION_SHARE else "train"


def _is_positive(labels: Labels) -> bool:
    return (labels["toxicity"] or 0.0) >= 0.5


def text_key(text: str) -> str:
    """A text as duplicates and the test-sentence exclusion compare it: whitespace collapsed, lower case."""
    return " ".join(text.split()).lower()


def _row_weight(source: Source, labels: Labels) -> float:
    if source.negative_weight is None or any((v or 0.0) >= 0.5 for v in labels.values()):
        return source.weight
    return source.negative_weight


def read_source(source: Source, root: Path, seed: int, exclude: frozenset[str] = frozenset()) -> list[Row]:
    """One source's rows with their splits; texts in `exclude` (the project's own test sentences) are dropped.

    Duplicate texts keep their first labels. A capped source keeps the same share of each split, drawn by text
    hash; where toxic rows are the minority, all of them are kept and only clean rows are thinned.
    """
    rows: list[Row] = []
    seen: set[str] = set()
    for text, labels, given_split, spans in source.read(root):
        key = text_key(text)
        if not key or key in seen or key in exclude:
            continue
        seen.add(key)
        split = given_split or split_of(key, seed)
        rows.append(Row(text, source.name, labels, split, spans, _row_weight(source, labels)))
    if source.cap is None or len(rows) <= source.cap:
        return rows
    positives = sum(_is_positive(r.labels) for r in rows)
    # Rare toxic rows are all kept, unless they alone pass the cap: then every row is thinned alike.
    rare = positives < len(rows) / 2 and positives <= source.cap
    keep = (source.cap - positives) / (len(rows) - positives) if rare else source.cap / len(rows)
    kept: list[Row] = []
    for split in ("train", "validation", "test"):
        in_split = sorted((r for r in rows if r.split == split), key=lambda r: hashlib.sha256(r.text.encode()).digest())
        thinned = [r for r in in_split if not (rare and _is_positive(r.labels))]
        kept += [r for r in in_split if rare and _is_positive(r.labels)] + thinned[: round(len(thinned) * keep)]
    return kept


def file_hashes(datasets: Path, files: Iterable[str]) -> dict[str, str]:
    """sha256 of each file a source read, by its path in the datasets folder; a file outside it (a site's feedback
    export) by its name alone: the artifact is committed, a local folder's path has no place in it."""
    return {
        Path(f).name if Path(f).is_absolute() else f: hashlib.sha256((datasets / f).read_bytes()).hexdigest()
        for f in files
    }


def missing_files(root: Path, sources: Iterable[Source] = DEFAULT_SOURCES) -> list[Path]:
    return [root / name for source in sources for name in source.files if not (root / name).is_file()]


# --- the site's own labels: `moderation feedback export` files ------------------------------------------------

FEEDBACK = "feedback"
FEEDBACK_COLUMNS = ("text", "attribute", "value")  # what training reads of the exported file
# Coral Talk v4 sends a comment's new status as a suggestscore attribute of value 1.
_CLEAN_STATUSES = frozenset({"APPROVED", "HIGHLIGHTED"})
_REMOVED_STATUSES = frozenset({"DELETED", "REJECTED"})


class FeedbackColumnsError(ValueError):
    """A file without the columns an export writes."""

    def __init__(self, path: Path, missing: list[str]) -> None:
        super().__init__(
            f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "(write it with `moderation feedback export FILE`)"
        )
        self.missing = missing


def feedback_labels(attribute: str, value: float) -> Labels | None:
    """The categories one label speaks to and their values; None where toxicity training has no use for it.

    A Perspective attribute names its category (PROFANITY is obscene); our own category names stand for
    themselves; an approved or highlighted comment is clean in every category, a deleted or rejected one is toxic
    (which category is not said). A status of value 0 (not approved) says nothing either way.
    """
    if attribute in _CLEAN_STATUSES:
        return clean_labels() if value >= 0.5 else None
    if attribute in _REMOVED_STATUSES:
        return {"toxicity": 1.0} if value >= 0.5 else None
    category = attribute if attribute in CATEGORIES else PERSPECTIVE_ATTRIBUTES.get(attribute)
    return {category: value} if category in CATEGORIES else None


@dataclass(frozen=True)
class FeedbackRows:
    """Feedback files read and merged: one entry per text."""

    texts: list[tuple[str, Labels]]
    rows: int  # rows in the files
    skipped: Counter[str]  # attribute (or "value not in [0, 1]") -> rows training cannot use

    def summary(self, paths: Iterable[Path]) -> str:
        names = ", ".join(str(p) for p in paths)
        line = f"{self.rows} feedback rows from {names} give {len(self.texts)} texts"
        if self.skipped:
            reasons = ", ".join(f"{name} {count}" for name, count in self.skipped.most_common())
            line += f"; skipped {sum(self.skipped.values())} rows training does not use ({reasons})"
        return line


def read_feedback(
    paths: Iterable[Path], labels_of: Callable[[str, float], Labels | None] = feedback_labels
) -> FeedbackRows:
    """Every label of the files, merged per text (as read_source keys texts): a later row's value wins for each
    category it speaks to, so the last word of the site's moderators counts (an export is oldest first).
    `labels_of` maps a row's attribute and value to the categories it speaks to (toxicity training's by default).

    A text whose toxicity ends up 0 is clean in the categories no label spoke to, as in the other sources.
    Raises FeedbackColumnsError for a file without the columns an export writes.
    """
    merged: dict[str, tuple[str, Labels]] = {}
    rows = 0
    skipped: Counter[str] = Counter()
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in FEEDBACK_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise FeedbackColumnsError(path, missing)
            for row in reader:
                rows += 1
                try:
                    value = float(row["value"])
                except (TypeError, ValueError):
                    value = math.nan
                if not 0.0 <= value <= 1.0:  # NaN fails this too
                    skipped["value not in [0, 1]"] += 1
                    continue
                attribute = row["attribute"] or ""
                found = labels_of(attribute, value)
                key = text_key(row["text"] or "")
                if found is None or not key:
                    skipped[(attribute or "no attribute") if found is None else "empty text"] += 1
                    continue
                text, labels = merged.setdefault(key, (row["text"], known_labels()))
                labels.update(found)
    texts = []
    for text, labels in merged.values():
        if labels["toxicity"] == 0.0:
            labels = {c: 0.0 if v is None else v for c, v in labels.items()}
        texts.append((text, labels))
    return FeedbackRows(texts, rows, skipped)


def feedback_source(feedback: FeedbackRows, paths: Iterable[Path]) -> Source:
    """The merged feedback as one more source: split by text hash and cleaned of the project's test sentences by
    read_source like every other, at weight 1. Its files are paths of their own, not under the datasets folder."""
    texts = list(feedback.texts)

    def read(_: Path) -> Read:
        for text, labels in texts:
            yield text, labels, None, ()

    return Source(
        FEEDBACK,
        "the site's own moderators' labels: Perspective suggestscore calls and moderation-queue decisions",
        "the site's own",
        tuple(str(p.resolve()) for p in paths),
        read,
    )
