"""The service under test: gunicorn started as the image starts it, and what its workers report about themselves.

Part of `make bench` (bench/run.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def gunicorn(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The service as the image runs it, ready to serve; stopped on the way out."""
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "docker" / "gunicorn.conf.py"), "service.wsgi:app"]
    with log.open("a") as output:
        server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{env['PORT']}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {log}")
            time.sleep(0.3)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

def scoring_batches(url: str) -> tuple[float, float]:
    """Model calls so far and the texts they scored, from the service's own /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    calls = texts = 0.0
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text):
        for sample in family.samples:
            if sample.name == "moderation_scoring_batch_texts_count":
                calls += sample.value
            elif sample.name == "moderation_scoring_batch_texts_sum":
                texts += sample.value
    return calls, texts

def _workers(master: int) -> list[str]:
    return Path(f"/proc/{master}/task/{master}/children").read_text().split()

def worker_rss_mb(master: int) -> list[int]:
    sizes = []
    for pid in _workers(master):
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(status.split("VmRSS:")[1].split()[0]) // 1024)
    return sizes

def worker_cpu_seconds(master: int) -> float:
    """User and system CPU time of all workers so far."""
    ticks = 0
    for pid in _workers(master):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
