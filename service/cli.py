"""The `moderation` command: serve, score, fetch-models, feedback export, and the commands installed packages add
(`train` and `eval`, from the model-building package)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType
from typing import TypeAlias

from pydantic import ValidationError

from service.config import Settings, describe_error

# Where an installed package declares the subcommands it adds (pyproject.toml, [project.entry-points]).
COMMAND_ENTRY_POINTS = "moderation.commands"
# argparse's subparsers action, as a command's registration receives it.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def read_settings() -> Settings:
    """The settings from the environment, or exit with one line that names what is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        sys.exit(f"moderation: {describe_error(exc)}")


def serve(data_dir: Path) -> int:
    """Start Redis unless REDIS_URL is set, make development keys if none are set, run gunicorn in front and the
    worker (`moderation worker`) beside it.

    gunicorn and redis-server run in sessions of their own, so a terminal's Ctrl-C (SIGINT to the whole
    foreground process group) reaches only this process. It asks gunicorn to drain with SIGTERM, waits for it,
    and only then stops Redis, which the draining requests may still need.
    """
    from service.config import generate_dev_keys
    from service.redis_server import LocalRedis

    settings = read_settings()
    server: subprocess.Popen[bytes] | None = None
    background: subprocess.Popen[bytes] | None = None
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True  # no print here: the handler may interrupt a print of the main code
        for process in (server, background):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)

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
        # The worker beside it: webhook delivery and retention sweeps (moderation worker).
        background = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker"], env=environment, start_new_session=True
        )
        if stopping:  # the signal came while Popen ran, before `server` was set
            server.send_signal(signal.SIGTERM)
            background.send_signal(signal.SIGTERM)
        # gunicorn's graceful_timeout bounds the drain.
        code = server.wait()
        # Stopped by our SIGTERM before it had set up its handlers (still loading models): a requested stop.
        return 0 if stopping and code == -signal.SIGTERM else code
    finally:
        if background is not None:
            background.send_signal(signal.SIGTERM)
            try:
                background.wait(timeout=30)
            except subprocess.TimeoutExpired:
                background.kill()
                background.wait()
        if local_redis is not None:
            local_redis.stop()
            print("moderation: redis-server stopped", flush=True)


def worker(once: bool) -> int:
    """The background work beside gunicorn, until SIGTERM or Ctrl-C: webhook delivery, and the retention sweep
    (MODERATION_RETENTION_DAYS) every MODERATION_WORKER_INTERVAL_SECONDS. `once`: one sweep, no delivery."""
    from service.delivery import run_dispatcher
    from service.keys import Keys
    from service.retention import run_worker, sweep_once
    from service.store.connection import connect
    from service.store.webhooks import WebhookStore

    settings = read_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # A sweep reads and trims whole streams: a longer timeout than a request's.
    client = connect(settings.model_copy(update={"redis_timeout_seconds": 10.0}))
    keys = Keys(settings.redis_key_prefix)
    try:
        if once:
            swept = sweep_once(client, keys, settings)
            if swept is None:
                print("moderation: no sweep (MODERATION_RETENTION_DAYS is unset, or another worker is sweeping)")
            else:
                print(json.dumps(dataclasses.asdict(swept)))
            return 0
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: stop.set())
        retention = f"{settings.retention_days} days" if settings.retention_days else "off"
        webhooks = WebhookStore(client, keys, settings.webhooks)
        delivery = threading.Thread(target=run_dispatcher, args=(webhooks, settings, stop), name="webhooks")
        delivery.start()
        print(f"moderation: worker started (webhooks on, retention {retention})", flush=True)
        try:
            run_worker(client, keys, settings, stop)
        finally:
            stop.set()  # whatever ended the sweeps ends delivery too, so the process exits
            delivery.join()
        print("moderation: worker stopped", flush=True)
        return 0
    finally:
        client.close()


def score(text: str) -> int:
    from service.scoring.engine import ScoringEngine
    from service.scoring.normalize import normalize

    engine = ScoringEngine.from_settings(read_settings())
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


def export_feedback(target: str, site: str | None = None) -> int:
    """Every label in the feedback stream (of `site`, when given) as CSV, to `target` or (`-`) stdout; a file is
    complete or not there."""
    import redis

    from service.keys import Keys
    from service.store.connection import connect
    from service.store.feedback import FeedbackStore, write_csv

    settings = read_settings()
    client = connect(settings)
    store = FeedbackStore(client, Keys(settings.redis_key_prefix))
    # Written beside the target and renamed at the end: a Redis failure half-way leaves no half a file behind.
    partial = None if target == "-" else Path(target).with_name(f".{Path(target).name}.partial")
    try:
        if partial is None:
            rows = write_csv(store.export(site=site), sys.stdout)
            sys.stdout.flush()
        else:
            with partial.open("w", newline="", encoding="utf-8") as handle:
                rows = write_csv(store.export(site=site), handle)
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


def _add_installed_commands(commands: Commands) -> None:
    """Commands that other installed packages add, through the `moderation.commands` entry points: the model-building
    package adds `train` and `eval`. The serving package never imports it by name; the image, which installs the
    serving package alone, has none of its commands."""
    for entry in entry_points(group=COMMAND_ENTRY_POINTS):
        try:
            register: Callable[[Commands], None] = entry.load()
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.split(".")[0] == entry.module.split(".")[0]:
                continue  # declared by the project's metadata, not installed here
            raise
        register(commands)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="moderation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the API with gunicorn (and a local Redis if needed)")
    serve_cmd.add_argument("--data-dir", type=Path, default=Path("var"))
    serve_cmd.set_defaults(run=lambda args: serve(args.data_dir))
    score_cmd = commands.add_parser("score", help="print the verdict for TEXT as JSON (no Redis needed)")
    score_cmd.add_argument("text")
    score_cmd.set_defaults(run=lambda args: score(args.text))
    worker_cmd = commands.add_parser("worker", help="run the background work: webhook delivery, the retention sweep")
    worker_cmd.add_argument("--once", action="store_true", help="sweep once and exit (for cron)")
    worker_cmd.set_defaults(run=lambda args: worker(args.once))
    fetch_cmd = commands.add_parser("fetch-models", help="download the configured Detoxify model into the cache")
    fetch_cmd.add_argument("--model", help="e.g. detoxify-unbiased (default: MODERATION_TOXICITY_MODEL)")
    fetch_cmd.set_defaults(run=lambda args: fetch_models(args.model))
    _add_installed_commands(commands)
    feedback_cmd = commands.add_parser("feedback", help="the moderators' labels kept in Redis")
    feedback_actions = feedback_cmd.add_subparsers(dest="action", required=True)
    export_cmd = feedback_actions.add_parser("export", help="write every stored label as CSV, for train --extra")
    export_cmd.add_argument("file", help="the CSV file to write (`-`: stdout)")
    export_cmd.add_argument("--site", help="only the labels of this site's moderators")
    export_cmd.set_defaults(run=lambda args: export_feedback(args.file, args.site))
    args = parser.parse_args(argv)

    from service.errors import ModelUnavailable

    try:
        code: int = args.run(args)
        return code
    except ModelUnavailable as exc:
        print(f"moderation: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
