"""A datasets folder in the shape of the shared one, with a few rows of each source written here.

The suite must not need the shared datasets (a clone from the web has none): tests of the readers and of the
training command build this folder instead. The rows are plain, made-up sentences; what matters is each file's
columns and labels.
"""

from __future__ import annotations

import csv
from pathlib import Path

KIND = ("fine", "rude")


def _text(source: str, index: int, rude: bool) -> str:
    if rude:
        return f"{source} post {index}: you are a worthless idiot and I will hurt you"
    return f"{source} post {index}: thanks for the clear report on the council budget"


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_tiny_datasets(root: Path, rows: int = 24) -> Path:
    """Every file the toxicity sources read, `rows` rows each, half of them abusive."""
    pairs = [(i, i % 2 == 1) for i in range(rows)]
    spans = root / "toxic-spans"
    comments, annotations, marked = [], [], []
    for i, rude in pairs:
        text = _text("news", i, rude)
        comments.append([1000 + i, text])
        for rater in range(3):
            annotation = len(annotations)
            # Two of three raters mark the threat in a rude post; the third ticks "not toxic".
            toxic = rude and rater < 2
            annotations.append([annotation, 1000 + i, rater, "USA", "False", "False" if toxic else "True"])
            if toxic:
                start = text.index("I will hurt you")
                marked.append([annotation, "Threat", start, start + len("I will hurt you")])
                start = text.index("idiot")
                marked.append([annotation, "Insult", start, start + len("idiot")])
    _write(spans / "comments.csv", ["comment_id", "comment_text"], comments)
    _write(spans / "annotations.csv", ["annotation", "comment_id", "worker", "country", "all toxic", "not toxic"],
           annotations)
    _write(spans / "spans.csv", ["annotation", "type", "start", "end"], marked)
    _write(root / "olid-training.csv", ["id", "tweet", "subtask_a", "subtask_b", "subtask_c"],
           [[i, _text("olid", i, rude), "OFF" if rude else "NOT", "TIN" if rude else "NULL", "IND" if rude else "NULL"]
            for i, rude in pairs])
    _write(root / "hatexplain.csv", ["text", "rationale_pos", "label", "label_gender", "label_religion", "label_race",
                                     "label_economic", "label_minority"],
           [[_text("hatexplain", i, rude), "", "2" if rude else "0", 0, 0, 0, 0, 0] for i, rude in pairs])
    raters = [f"Annotator{n}" for n in (1, 2)]
    fields = ["is_abuse.1", "is_abuse.0", "is_abuse.-1", "is_abuse.-2", "is_abuse.-3", "sex_harassment",
              "racist", "target.individual"]
    header = ["example_id", "conv_id", "prev_agent", "prev_user", "agent", "user", "bot"]
    header += [f"{r}_{f}" for r in raters for f in fields]
    for name in ("train.csv", "valid.csv", "test.csv"):
        table = []
        for i, rude in pairs:
            # A rude message: both raters say "very strongly abusive" (-3) at a person; one saw sexual harassment.
            levels = [0, 0, 0, 0, 1] if rude else [1, 0, 0, 0, 0]
            cells = [*levels, 1 if rude else 0, 0, 1 if rude else 0]
            second = [*levels, 0, 0, 1 if rude else 0]
            table.append([i, i, "hi", "", "hello", _text(f"convabuse {name}", i, rude), "bot", *cells, *second])
        _write(root / "convabuse" / name, header, table)
    for name in ("train.csv", "validation.csv", "test.csv"):
        _write(root / "hatemoji-build" / name,
               ["entry_id", "text", "type", "target", "round.base", "round.set", "set", "split", "label_gold",
                "matched_text", "matched_id"],
               [[i, _text(f"hatemoji {name}", i, rude) + (" 🔪" if rude else " 👏"),
                 "threateninglanguage" if rude else "none", "[]", 5, "5a", "original", name, int(rude), "", ""]
                for i, rude in pairs])
    _write(root / "stormfront.csv", ["file_id", "user_id", "subforum_id", "num_contexts", "label", "text"],
           [[i, i, 1, 0, "hate" if rude else "noHate", _text("stormfront", i, rude)] for i, rude in pairs])
    _write(root / "toxigen-seeds.csv", ["text", "group", "label"],
           [[_text("toxigen", i, rude), "group", "hate" if rude else "neutral"] for i, rude in pairs])
    _write(root / "wikipedia-talk.csv", ["id", "text", "label"],
           [[i, _text("wikipedia", i, rude), int(rude)] for i, rude in pairs])
    _write(root / "davidson-labeled.csv", ["", "count", "hate_speech", "offensive_language", "neither", "class",
                                           "tweet"],
           [[i, 3, 1 if rude else 0, 2 if rude else 0, 0 if rude else 3, 1 if rude else 2, _text("davidson", i, rude)]
            for i, rude in pairs])
    write_tiny_hate_datasets(root, rows)
    write_tiny_conspiracy_datasets(root, rows)
    return root


def write_tiny_hate_datasets(root: Path, rows: int = 24) -> Path:
    """The hate sources beyond the shipped model's: hate against not hate, with their own splits where they have
    them. Gab's rude posts also call for violence and swear; its third row is vulgar without hate, its fifth hate
    alone."""
    pairs = [(i, i % 2 == 1) for i in range(rows)]
    splits = ("train", "dev", "test")
    _write(root / "dynahate.csv", ["text", "label", "split"],
           [[_text("dynahate", i, rude), "hate" if rude else "nothate", splits[i % 3]] for i, rude in pairs])
    _write(root / "measuring-hate-speech.csv", ["text", "label", "split"],
           [[_text("mhs", i, rude), int(rude), splits[i % 3]] for i, rude in pairs])
    _write(root / "gab-hate-corpus.csv", ["text", "hd", "cv", "vo", "split"],
           [[_text("gab", i, rude), int(rude or i == 4), int(rude), int(rude or i == 2),
             "test" if i % 4 == 0 else "train"] for i, rude in pairs])
    _write(root / "dynacounter.csv", ["hateful_statement", "response", "label", "round", "target_group"],
           [[_text("dynacounter statement", i, True), _text("dynacounter reply", i, False),
             "not_counterspeech" if i == 0 else "counterspeech", 1, "group"] for i, _ in pairs])
    _write(root / "fox-news-comments.csv", ["article_title", "text", "label", "previous_comment", "next_comment"],
           [["an article", _text("fox", i, rude), int(rude), "", ""] for i, rude in pairs])
    return root


def _claim(source: str, index: int, label: str) -> str:
    return {
        "yes": f"{source} post {index}: the cia staged it all for public consumption and they pull the strings",
        "no": f"{source} post {index}: the council approved the library budget on tuesday after a long debate",
        "unsure": f"{source} post {index}: some say the report was changed, I could not tell who changed it",
    }[label]


def write_tiny_conspiracy_datasets(root: Path, rows: int = 24) -> Path:
    """The two files the conspiracy sources read: PsyCoMark (with `Can't tell` rows) and PAN 2024, pre-tokenised
    with links as PAN ships them."""
    psycomark = []
    for i in range(rows):
        kind = ("yes", "no", "no", "unsure")[i % 4]
        psycomark.append([_claim("reddit", i, kind), {"yes": "Yes", "no": "No", "unsure": "Can't tell"}[kind]])
    _write(root / "psycomark-conspiracy.csv", ["text", "label"], psycomark)
    pan = []
    for i in range(rows):
        kind = "yes" if i % 2 else "no"
        tokenised = _claim("telegram", i, kind).replace("'", " '") + " https :// t . me / channel" + str(i)
        pan.append([tokenised, "CONSPIRACY" if kind == "yes" else "CRITICAL"])
    _write(root / "pan2024-oppositional-en.csv", ["text", "label"], pan)
    dev = [[i, _claim("reddit dev", i, kind), "conspiracy", label, "[]"]
           for i, (kind, label) in enumerate([("yes", "Yes"), ("no", "No"), ("unsure", "Can't tell")] * 4)]
    _write(root / "psycomark-dev.csv", ["id", "text", "subreddit", "label", "markers"], dev)
    return root
