"""`moderation train` and `moderation eval`, which the serving package's command line takes from this package through
the `moderation.commands` entry point (pyproject.toml). Heavy imports wait until a command runs."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Callable
from pathlib import Path

from modelling import conspiracy_data, toxicity_data
from modelling.toxicity_data import DEFAULT_LEAVE_OUT, SOURCE_NAMES, FeedbackRows, Labels
from service.cli import Commands, read_settings

# Sources a run may add beyond the shipped model's, by task.
OPTIONAL_SOURCES = {
    "toxicity": [s.name for s in toxicity_data.SOURCES if not s.default],
    "conspiracy": [s.name for s in conspiracy_data.SOURCES if not s.default],
}


def add_commands(commands: Commands) -> None:
    train_cmd = commands.add_parser("train", help="train a shipped head from ../shared/datasets")
    train_cmd.add_argument("task", choices=["conspiracy", "toxicity"])
    train_cmd.add_argument("--datasets", type=Path, help="folder holding the shared datasets")
    train_cmd.add_argument(
        "--leave-out",
        choices=[*SOURCE_NAMES, "none"],
        action="append",
        metavar="SOURCE",
        help=f"toxicity: a source one more run leaves out of training, repeatable (default {DEFAULT_LEAVE_OUT}; none)",
    )
    train_cmd.add_argument(
        "--source",
        choices=[name for names in OPTIONAL_SOURCES.values() for name in names],
        action="append",
        default=[],
        metavar="SOURCE",
        help="also train on this source, beyond the shipped model's (repeatable): "
        + "; ".join(f"{task}: {', '.join(names)}" for task, names in OPTIONAL_SOURCES.items()),
    )
    train_cmd.add_argument(
        "--without",
        choices=["templates", "contrast"],
        action="append",
        default=[],
        help="toxicity: train without the project's templated identity sentences or its contrast sentences "
        "(repeatable), to measure what they bring",
    )
    train_cmd.add_argument(
        "--with",
        dest="with_written",
        choices=["noun-templates"],
        action="append",
        default=[],
        help="toxicity: also train on the noun-form identity templates (\"Tomasz is a thoughtful Sikh.\"), a share "
        "of them held out to bound every review threshold",
    )
    train_cmd.add_argument(
        "--review-rule",
        choices=["sources", "news-mix"],
        default="sources",
        help="conspiracy: choose the review threshold on the sources' validation rows (the shipped model's rule) or "
        "on a news-site mix that adds ordinary reader comments",
    )
    train_cmd.add_argument("--sample", type=float, default=1.0, help="share of each source, for a trial")
    train_cmd.add_argument("--epochs", type=int, help="epochs (default: as the shipped model was trained)")
    train_cmd.add_argument(
        "--extra",
        type=Path,
        action="append",
        metavar="FILE",
        help="a `moderation feedback export` CSV to train on as the source `feedback`: its toxicity labels, or for "
        "conspiracy its conspiracy labels (repeatable)",
    )
    train_cmd.add_argument(
        "--artifacts", type=Path, metavar="DIR", help="where to write the model (default: service/artifacts, shipped)"
    )
    train_cmd.set_defaults(run=train)
    eval_cmd = commands.add_parser("eval", help="measure a task's score on a labeled CSV or JSONL file")
    eval_cmd.add_argument("file", type=Path)
    eval_cmd.add_argument("--task", choices=["toxicity", "conspiracy"], required=True)
    eval_cmd.add_argument("--text-column", required=True)
    eval_cmd.add_argument("--label-column", required=True)
    eval_cmd.add_argument("--positive", required=True, help="label value of the positive class")
    eval_cmd.add_argument("--negative", help="label value of the negative class (other rows dropped)")
    eval_cmd.add_argument("--report", type=Path, help="directory for a Markdown report with plots")
    eval_cmd.set_defaults(run=evaluate)


def _read_extra(files: list[Path], labels_of: Callable[[str, float], Labels | None]) -> FeedbackRows | int:
    """`--extra` files read with a task's label mapping, or the exit status of a one-line complaint about them."""
    absent = [f for f in files if not f.is_file()]
    if absent:
        print(
            f"moderation: no feedback file at {absent[0]}; write one with `moderation feedback export FILE`",
            file=sys.stderr,
        )
        return 2
    try:
        feedback = toxicity_data.read_feedback(files, labels_of)
    except toxicity_data.FeedbackColumnsError as exc:
        print(f"moderation: {exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, csv.Error) as exc:
        print(f"moderation: cannot read the feedback files as UTF-8 CSV: {exc}", file=sys.stderr)
        return 2
    print(f"moderation: {feedback.summary(files)}", flush=True)
    return feedback


def _unknown_sources(task: str, names: list[str]) -> int | None:
    """The exit status of a one-line complaint about a `--source` of the other task, if any."""
    if wrong := [name for name in names if name not in OPTIONAL_SOURCES[task]]:
        print(f"moderation: --source {wrong[0]} is not a {task} source", file=sys.stderr)
        return 2
    return None


def train(args: argparse.Namespace) -> int:
    from modelling.conspiracy_training import SHARED_DATASETS
    from service.scoring.models import ARTIFACTS

    datasets: Path = args.datasets or Path(os.environ.get("MODERATION_DATASETS_DIR") or SHARED_DATASETS)
    if not datasets.is_dir():
        print(
            f"moderation: no datasets folder at {datasets.resolve()}; point to the shared datasets with "
            "--datasets DIR or MODERATION_DATASETS_DIR (see docs/training.md)",
            file=sys.stderr,
        )
        return 2
    if args.task == "toxicity":
        from modelling import toxicity_training
        from modelling.toxicity_data import missing_files

        if (complaint := _unknown_sources("toxicity", args.source)) is not None:
            return complaint
        sources = [*toxicity_data.DEFAULT_SOURCES, *(s for s in toxicity_data.SOURCES if s.name in args.source)]
        missing = missing_files(datasets, sources)
        if missing:
            print(f"moderation: {datasets} lacks {', '.join(str(m) for m in missing[:3])}", file=sys.stderr)
            return 2
        feedback = _read_extra(args.extra, toxicity_data.feedback_labels) if args.extra else None
        if isinstance(feedback, int):
            return feedback
        extra = [] if feedback is None else [toxicity_data.feedback_source(feedback, args.extra)]
        leave_out = [name for name in args.leave_out or [DEFAULT_LEAVE_OUT] if name != "none"]
        trained_on = {s.name for s in sources} | {s.name for s in extra}
        if unknown := [name for name in leave_out if name not in trained_on]:
            print(f"moderation: --leave-out {unknown[0]} is not a source of this run (add it with --source)",
                  file=sys.stderr)
            return 2
        epochs = args.epochs or toxicity_training.EPOCHS
        artifacts = args.artifacts or ARTIFACTS
        toxic = toxicity_training.train(
            datasets,
            artifacts,
            leave_out=leave_out,
            sample=args.sample,
            epochs=epochs,
            extra=extra,
            sources=sources,
            written=[
                *(name for name in toxicity_training.DEFAULT_WRITTEN if name not in args.without),
                *args.with_written,
            ],
        )
        print(f"moderation: wrote {toxic.artifact} (trained on {toxic.train_rows} rows) and {toxic.card}")
        print(f"figures on {toxic.test_rows} test rows, never trained on:\n{toxic.summary}")
        return 0
    from modelling import conspiracy_training

    if (complaint := _unknown_sources("conspiracy", args.source)) is not None:
        return complaint
    if args.leave_out:
        print("moderation: --leave-out is for toxicity; conspiracy leaves each of its two sources out", file=sys.stderr)
        return 2
    claims = [*conspiracy_data.DEFAULT_SOURCES, *(s for s in conspiracy_data.SOURCES if s.name in args.source)]
    missing = conspiracy_data.missing_files(datasets, claims)
    if missing:
        print(f"moderation: {datasets} lacks {', '.join(str(m) for m in missing)}", file=sys.stderr)
        return 2
    claims_feedback = _read_extra(args.extra, conspiracy_data.feedback_label) if args.extra else None
    if isinstance(claims_feedback, int):
        return claims_feedback
    epochs = args.epochs or conspiracy_training.BRANCH_EPOCHS
    report = conspiracy_training.train(
        datasets,
        args.artifacts or ARTIFACTS,
        sample=args.sample,
        epochs=epochs,
        sources=claims,
        extra=[] if claims_feedback is None else [conspiracy_data.feedback_source(claims_feedback, args.extra)],
        review_rule=args.review_rule,
    )
    print(f"moderation: wrote {report.artifact} (trained on {report.train_rows} rows) and {report.card}")
    print(f"figures on {report.test_rows} test rows, never trained on, through the service pipeline:")
    print(report.summary)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from modelling.evaluation import evaluate as measure
    from modelling.evaluation import read_labeled, score_task, write_report
    from service.scoring.engine import ScoringEngine

    data = read_labeled(args.file, args.text_column, args.label_column, args.positive, args.negative)
    if len(set(data.labels.tolist())) < 2:
        print(f"moderation: {args.file} needs both positive and negative rows", file=sys.stderr)
        return 2
    engine = ScoringEngine.from_settings(read_settings())
    scores = score_task(engine, args.task, data.texts)
    result = measure(args.task, data, scores, engine.policy.review[args.task])
    print(f"data: {args.file}   models: {engine.models[args.task]}   policy: {engine.policy.version}")
    print(result.summary())
    if args.report:
        print(f"report: {write_report(args.report, args.file, result, data, engine.models[args.task])}")
    return 0
