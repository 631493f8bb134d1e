"""The `moderation` command: serve, score, fetch-models, train, eval, feedback export."""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pydantic import ValidationError

from service.config import Settings, describe_error

if TYPE_CHECKING:
    from service.toxicity_data import Source


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        sys.exit(f"moderation: {describe_error(exc)}")


def serve(data_dir: Path) -> int:
    """Start Redis unless REDIS_URL is set, make development keys if none are set, run gunicorn in front.

    gunicorn and redis-server run in sessions of their own, so a terminal's Ctrl-C (SIGINT to the whole
    foreground process group) reaches only this process. It asks gunicorn to drain with SIGTERM, waits for it,
    and only then stops Redis, which the draining requests may still need.
    """
    from service.config import generate_dev_keys
    from service.redis_server import LocalRedis

    settings = _settings()
    server: subprocess.Popen[bytes] | None = None
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True  # no print here: the handler may interrupt a print of the main code
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)

    # Before anything starts: a signal during start-up must still end in the clean-up below.
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    environment = dict(os.environ)
    local_redis = None
    try:
        if "redis_url" not in settings.model_fields_set:
            local_redis = LocalRedis(data_dir / "redis").start()
            environment["REDIS_URL"] = local_redis.url
            print(f"moderation: started redis-server at {local_redis.url} (append-only file in {data_dir / 'redis'})")
        if not settings.api_keys:
            keys = generate_dev_keys()
            environment["MODERATION_API_KEYS"] = ",".join(f"{k.name}:{k.role.value}:{k.secret}" for k in keys)
            print("moderation: no MODERATION_API_KEYS set; development keys for this run:")
            for key in keys:
                print(f"  {key.role.value:<10} Authorization: Bearer {key.secret}")
        if stopping:
            return 0
        host = environment.get("HOST", "127.0.0.1")
        print(f"moderation: serving on http://{host}:{settings.port}  (Ctrl-C stops)", flush=True)
        command = [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf", "service.wsgi:app"]
        server = subprocess.Popen(command, env=environment, start_new_session=True)
        if stopping:  # the signal came while Popen ran, before `server` was set
            server.send_signal(signal.SIGTERM)
        # gunicorn's graceful_timeout bounds the drain.
        code = server.wait()
        # Stopped by our SIGTERM before it had set up its handlers (still loading models): a requested stop.
        return 0 if stopping and code == -signal.SIGTERM else code
    finally:
        if local_redis is not None:
            local_redis.stop()
            print("moderation: redis-server stopped", flush=True)


def score(text: str) -> int:
    from service.scoring.engine import ScoringEngine
    from service.scoring.normalize import normalize

    engine = ScoringEngine.from_settings(_settings())
    verdict = engine.score([normalize(text)])[0]
    print(json.dumps(verdict.model_dump(mode="json"), indent=2))
    return 0


def fetch_models(model: str | None) -> int:
    """The one command that may use the network: fill the torch hub and Hugging Face caches."""
    os.environ["HF_HUB_OFFLINE"] = "0"
    os.environ["TRANSFORMERS_OFFLINE"] = "0"
    name = model or os.environ.get("MODERATION_TOXICITY_MODEL", "embedded")
    if name == "embedded":
        print("moderation: the embedded models ship inside the installed packages; nothing to fetch")
        return 0
    if not name.startswith("detoxify-"):
        print(f"moderation: unknown model {name!r}", file=sys.stderr)
        return 2
    variant = name.removeprefix("detoxify-")
    try:
        from detoxify import Detoxify

        Detoxify(model_type=variant, device="cpu").predict(["fetch check"])
    except Exception as exc:  # offline or unreachable: one clear line, no traceback
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        print(
            f"moderation: could not fetch {name}: {reason[:200]}. fetch-models needs network access to "
            "github.com (weights) and huggingface.co (config and tokenizer).",
            file=sys.stderr,
        )
        return 1
    print(f"moderation: {name} is in the local cache; start the service with MODERATION_TOXICITY_MODEL={name}")
    return 0


def export_feedback(target: str) -> int:
    """Every label in the feedback stream as CSV, to `target` or (`-`) stdout; a file is complete or not there."""
    import redis

    from service.keys import Keys
    from service.store.connection import connect
    from service.store.feedback import FeedbackStore, write_csv

    settings = _settings()
    client = connect(settings)
    store = FeedbackStore(client, Keys(settings.redis_key_prefix))
    # Written beside the target and renamed at the end: a Redis failure half-way leaves no half a file behind.
    partial = None if target == "-" else Path(target).with_name(f".{Path(target).name}.partial")
    try:
        if partial is None:
            rows = write_csv(store.export(), sys.stdout)
            sys.stdout.flush()
        else:
            with partial.open("w", newline="", encoding="utf-8") as handle:
                rows = write_csv(store.export(), handle)
            partial.replace(target)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        # Never the URL: it may hold a password.
        reason = exc.__class__.__name__
        print(f"moderation: cannot reach Redis at REDIS_URL ({reason}); is it running?", file=sys.stderr)
        return 1
    except redis.RedisError as exc:
        print(f"moderation: Redis refused the export: {str(exc).splitlines()[0][:200]}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"moderation: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
        if partial is not None:
            partial.unlink(missing_ok=True)
    if partial is None:  # stdout holds the CSV alone; the count goes to stderr
        print(f"moderation: wrote {rows} feedback rows to stdout", file=sys.stderr)
    else:
        print(f"moderation: wrote {rows} feedback rows to {target}")
    return 0


def _feedback_sources(files: list[Path]) -> list[Source] | int:
    """`--extra` files as the `feedback` source, or the exit status of a one-line complaint about them."""
    from service.toxicity_data import FeedbackColumnsError, feedback_source, read_feedback

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
    from service.scoring.models import ARTIFACTS
    from service.training import SHARED_DATASETS

    datasets: Path = args.datasets or Path(os.environ.get("MODERATION_DATASETS_DIR") or SHARED_DATASETS)
    if not datasets.is_dir():
        print(
            f"moderation: no datasets folder at {datasets.resolve()}; point to the shared datasets with "
            "--datasets DIR or MODERATION_DATASETS_DIR (see the README, Models)",
            file=sys.stderr,
        )
        return 2
    if args.task == "toxicity":
        from service import toxicity_training
        from service.toxicity_data import missing_files

        missing = missing_files(datasets)
        if missing:
            print(f"moderation: {datasets} lacks {', '.join(str(m) for m in missing[:3])}", file=sys.stderr)
            return 2
        extra = _feedback_sources(args.extra) if args.extra else []
        if isinstance(extra, int):
            return extra
        leave_out = None if args.leave_out == "none" else args.leave_out
        epochs = args.epochs or toxicity_training.EPOCHS
        artifacts = args.artifacts or ARTIFACTS
        toxic = toxicity_training.train(
            datasets, artifacts, leave_out=leave_out, sample=args.sample, epochs=epochs, extra=extra
        )
        print(f"moderation: wrote {toxic.artifact} (trained on {toxic.train_rows} rows) and {toxic.card}")
        print(f"figures on {toxic.test_rows} test rows, never trained on:\n{toxic.summary}")
        return 0
    if args.extra:
        print("moderation: --extra feeds toxicity training only", file=sys.stderr)
        return 2
    from service import training
    from service.conspiracy_data import missing_files as missing_conspiracy_files

    missing = missing_conspiracy_files(datasets)
    if missing:
        print(f"moderation: {datasets} lacks {', '.join(str(m) for m in missing)}", file=sys.stderr)
        return 2
    report = training.train(
        datasets, args.artifacts or ARTIFACTS, sample=args.sample, epochs=args.epochs or training.BRANCH_EPOCHS
    )
    print(f"moderation: wrote {report.artifact} (trained on {report.train_rows} rows) and {report.card}")
    print(f"figures on {report.test_rows} test rows, never trained on, through the service pipeline:")
    print(report.summary)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from service.evaluation import evaluate as measure
    from service.evaluation import read_labeled, score_task, write_report
    from service.scoring.engine import ScoringEngine

    data = read_labeled(args.file, args.text_column, args.label_column, args.positive, args.negative)
    if len(set(data.labels.tolist())) < 2:
        print(f"moderation: {args.file} needs both positive and negative rows", file=sys.stderr)
        return 2
    engine = ScoringEngine.from_settings(_settings())
    scores = score_task(engine, args.task, data.texts)
    result = measure(args.task, data, scores, engine.policy.review[args.task])
    print(f"data: {args.file}   models: {engine.models[args.task]}   policy: {engine.policy.version}")
    print(result.summary())
    if args.report:
        print(f"report: {write_report(args.report, args.file, result, data, engine.models[args.task])}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="moderation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the API with gunicorn (and a local Redis if needed)")
    serve_cmd.add_argument("--data-dir", type=Path, default=Path("var"))
    score_cmd = commands.add_parser("score", help="print the verdict for TEXT as JSON (no Redis needed)")
    score_cmd.add_argument("text")
    fetch_cmd = commands.add_parser("fetch-models", help="download the configured Detoxify model into the cache")
    fetch_cmd.add_argument("--model", help="e.g. detoxify-unbiased (default: MODERATION_TOXICITY_MODEL)")
    train_cmd = commands.add_parser("train", help="train a shipped head from ../shared/datasets")
    train_cmd.add_argument("task", choices=["conspiracy", "toxicity"])
    train_cmd.add_argument("--datasets", type=Path, help="folder holding the shared datasets")
    from service.toxicity_data import DEFAULT_LEAVE_OUT, SOURCE_NAMES

    train_cmd.add_argument(
        "--leave-out",
        choices=[*SOURCE_NAMES, "none"],
        default=DEFAULT_LEAVE_OUT,
        help=f"toxicity: the source a second run leaves out of training (default {DEFAULT_LEAVE_OUT})",
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
    eval_cmd = commands.add_parser("eval", help="measure a task's score on a labeled CSV or JSONL file")
    eval_cmd.add_argument("file", type=Path)
    eval_cmd.add_argument("--task", choices=["toxicity", "conspiracy"], required=True)
    eval_cmd.add_argument("--text-column", required=True)
    eval_cmd.add_argument("--label-column", required=True)
    eval_cmd.add_argument("--positive", required=True, help="label value of the positive class")
    eval_cmd.add_argument("--negative", help="label value of the negative class (other rows dropped)")
    eval_cmd.add_argument("--report", type=Path, help="directory for a Markdown report with plots")
    feedback_cmd = commands.add_parser("feedback", help="the moderators' labels kept in Redis")
    feedback_actions = feedback_cmd.add_subparsers(dest="action", required=True)
    export_cmd = feedback_actions.add_parser("export", help="write every stored label as CSV, for train --extra")
    export_cmd.add_argument("file", help="the CSV file to write (`-`: stdout)")
    args = parser.parse_args(argv)

    from service.errors import ModelUnavailable

    try:
        if args.command == "serve":
            return serve(args.data_dir)
        if args.command == "score":
            return score(args.text)
        if args.command == "fetch-models":
            return fetch_models(args.model)
        if args.command == "eval":
            return evaluate(args)
        if args.command == "feedback":
            return export_feedback(args.file)
        return train(args)
    except ModelUnavailable as exc:
        print(f"moderation: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
