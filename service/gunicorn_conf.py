"""Gunicorn settings, from the environment. `docker/gunicorn.conf.py` (what the image runs) loads this module."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
# A request waits in its thread while the batcher scores it, so a batch can only hold as many texts as there are
# threads in flight: as many as MODERATION_BATCH_MAX_SIZE's default. (With 8, batches held 4.6 texts under 32
# clients.) A waiting thread costs no CPU.
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# SIGTERM: stop accepting, let in-flight requests finish for up to this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# Load the app (and its models) once in the master, then fork: the workers share the weights' memory pages
# (measured with 2 workers: 551 MB total PSS against 881 MB without). Safe because the master never runs
# inference, so torch's thread pools start only in the workers. GUNICORN_PRELOAD=0 turns it off.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"
# One machine may run several instances (replicas, tests): a shared control socket path would collide.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "service.observability.JsonFormatter"},
        "access": {"format": "%(message)s"},
    },
    "handlers": {
        "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
    },
    "root": {"level": loglevel.upper(), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["json"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}


class JsonAccessLogger(Logger):  # type: ignore[misc]
    """The access log as JSON lines, built as a dict and serialised: a client-chosen path cannot break the line.

    The request id is the one the app returns in X-Request-ID. No bodies, no query strings. Reads only the fields
    it logs: gunicorn's `atoms()` formats every header and environ entry, a visible share of a cache hit's cost.
    """

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        try:
            line = json.dumps(self._entry(resp, environ, request_time), ensure_ascii=False)
        except Exception:  # as gunicorn's own access(): a log line must never fail the request it describes
            self.exception("access log entry failed")
            return
        self.access_log.info("%s", line)

    @staticmethod
    def _entry(resp: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        now = time.time()
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        request_id = next((value for name, value in resp.headers if name.lower() == "x-request-id"), None)
        return {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z",
            "logger": "access",
            "remote": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD"),
            # WSGI hands the percent-decoded path over as latin-1; the log shows the UTF-8 the client sent.
            "path": environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"),
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "ms": request_time.seconds * 1000 + request_time.microseconds // 1000,
            "request_id": request_id,
        }


logger_class = JsonAccessLogger

# Prometheus metrics across workers: each worker writes its samples to files in this directory.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if workers > 1 and not _metrics_dir:
    _metrics_dir = tempfile.mkdtemp(prefix="moderation-metrics-")
    # Before any import of prometheus_client, which picks its multiprocess mode at import time.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server: Any) -> None:
    """Start from empty metric files: samples of an earlier run must not leak into this one."""
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
        Path(_metrics_dir).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
