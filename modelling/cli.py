"""`moderation train` and `moderation eval`, which the serving package's command line takes from this package through
the `moderation.commands` entry point (pyproject.toml). Heavy imports wait until a command runs."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from modelling.toxicity_data import DEFAULT_LEAVE_OUT, DEFAULT_SOURCES, SOURCE_NAMES, SOURCES, Source
from service.cli import Commands, read_settings


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
        choices=[s.name for s in SOURCES if not s.default],
        action="append",
        default=[],
        metavar="SOURCE",
        help="toxicity: also train on this source, beyond the shipped model's (repeatable)",
    )
    train_cmd.add_argument("--sample", type=float, default=1.0, help="share of each source, for a trial")
    train_cmd.add_argument("--epochs", type=int, help="epochs (default: as the shipped model was trained)")
    train_cmd.add_argument(
        "--extra",
        type=Path,
        action="append",
        metavar="FILE",
        help="toxicity: a `moderation feedback export` CSV to train on as the source `feedback` (repeatable)",
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


def _feedback_sources(files: list[Path]) -> list[Source] | int:
    """`--extra` files as the `feedback` source, or the exit status of a one-line complaint about them."""
    from modelling.toxicity_data import FeedbackColumnsError, feedback_source, read_feedback

    absent = [f for f in files if not f.is_file()]
    if absent:
        print(
            f"moderation: no feedback file at {absent[0]}; write one with `moderation feedback export FILE`",
            file=sys.stderr,
        )
        return 2
    try:
        feedback = read_feedback(files)
    except FeedbackColumnsError as exc:
        print(f"moderation: {exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, csv.Error) as exc:
        print(f"moderation: cannot read the feedback files as UTF-8 CSV: {exc}", file=sys.stderr)
        return 2
    print(f"moderation: {feedback.summary(files)}", flush=True)
    return [feedback_source(feedback, files)]


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

        sources = [*DEFAULT_SOURCES, *(s for s in SOURCES if s.name in args.source)]
        missing = missing_files(datasets, sources)
        if missing:
            print(f"moderation: {datasets} lacks {', '.join(str(m) for m in missing[:3])}", file=sys.stderr)
            return 2
        extra = _feedback_sources(args.extra) if args.extra else []
        if isinstance(extra, int):
            return extra
        leave_out = [name for name in args.leave_out or [DEFAULT_LEAVE_OUT] if name != "none"]
        trained_on = {s.name for s in sources} | {s.name for s in extra}
        if unknown := [name for name in leave_out if name not in trained_on]:
            print(f"moderation: --leave-out {unknown[0]} is not a source of this run (add it with --source)",
                  file=sys.stderr)
            return 2
        epochs = args.epochs or toxicity_training.EPOCHS
        artifacts = args.artifacts or ARTIFACTS
        toxic = toxicity_training.train(
            datasets, artifacts, leave_out=leave_out, sample=args.sample, epochs=epochs, extra=extra, sources=sources
        )
        print(f"moderation: wrote {toxic.artifact} (trained on {toxic.train_rows} rows) and {toxic.card}")
        print(f"figures on {toxic.test_rows} test rows, never trained on:\n{toxic.summary}")
        return 0
    if args.extra:
        print("moderation: --extra feeds toxicity training only", file=sys.stderr)
        return 2
    from modelling import conspiracy_training
    from modelling.conspiracy_data import missing_files as missing_conspiracy_files

    missing = missing_conspiracy_files(datasets)
    if missing:
        print(f"moderation: {datasets} lacks {', '.join(str(m) for m in missing)}", file=sys.stderr)
        return 2
    epochs = args.epochs or conspiracy_training.BRANCH_EPOCHS
    report = conspiracy_training.train(datasets, args.artifacts or ARTIFACTS, sample=args.sample, epochs=epochs)
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
