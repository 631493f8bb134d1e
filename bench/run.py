"""`make bench`: throughput and latency of the service under gunicorn, against baselines measured in the same run.

Starts a real redis-server and gunicorn with the image's configuration (docker/gunicorn.conf.py, its defaults
unless the environment sets WEB_CONCURRENCY or GUNICORN_THREADS), then drives the
API on loopback from this process (http.client, light on the shared CPUs) with unique comment-length texts from
../shared/datasets:

1. cache-miss throughput with 32 concurrent single-comment clients, against the raw model's batched throughput
   (in process, batch 32) on the same texts: the mean of a measurement before the server starts and one just after
   the misses, with the server idle, because this machine's speed drifts; batch 16 is reported beside it;
2. p50 and p99 latency at concurrency 1, 8 and 32 (cache misses); the concurrency-1 p50 against the model's
   own time for one comment: the median of the same 50 texts scored alone in process, in blocks of 10 alternating
   with the requests;
3. cache-hit throughput against /healthz, a bare endpoint of the same app under the same gunicorn settings, in
   alternating rounds (this machine's speed drifts between minutes); also the worker's CPU time per request,
   which the client's own cost does not blur. Twice: hits from the worker's memory (the default configuration),
   then, after a restart with MODERATION_LOCAL_CACHE_SIZE=0, hits that each take a Redis round trip;
4. resident memory of each gunicorn worker;
5. Perspective's analyze in Coral Talk's request shape: at concurrency 1 against /v1/score on the same texts (both
   cache misses, in alternating blocks), and p50/p99 at concurrency 8;
6. Coral's external moderation phase (POST /integrations/coral/moderate, signed as Coral signs): p50/p99 at
   concurrency 8 on cache misses, against Coral's 800 ms.

    .venv/bin/python bench/run.py --model embedded
    .venv/bin/python bench/run.py --model bert-base   # Detoxify `original`'s BERT-base shapes, random weights

Prints a table and writes var/bench/<model>.json (with the commit measured and when). The pieces lie beside this
file: baselines.py (the in-process model and the texts), server.py (gunicorn and its workers), load.py (the
client threads); this file pairs each measurement with its baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script (`python bench/run.py`): its folder is on sys.path, so the sibling modules import by name.
from baselines import ROOT, RawModel, bert_base_checkpoint, comment_texts
from load import (
    ANALYZE_PATH,
    CORAL_PATH,
    CORAL_SECRET,
    KEY,
    connect,
    coral_body,
    coral_phase_request,
    percentiles,
    run_load,
    timed_request,
)
from server import gunicorn, scoring_batches, worker_cpu_seconds, worker_rss_mb


def alone_and_served(
    model: RawModel, url: str, texts: list[str], block: int = 10
) -> tuple[list[float], list[float]]:
    """Each text scored alone in process and sent alone to the service: per text, both in milliseconds.

    In alternating blocks of `block` texts, first in process, then the same texts one after another to the service,
    so that both sides see the same minute of this machine, whose speed drifts. (Alternating text by text instead
    left each side's caches cold from the other: both ran 10-15% slower than back to back.)
    """
    alone: list[float] = []
    served: list[float] = []
    connection = connect(url)
    try:
        for start in range(0, len(texts), block):
            chunk = texts[start : start + block]
            alone += [model.ms_once(text) for text in chunk]
            for text in chunk:
                status, seconds = timed_request(connection, "/v1/score", json.dumps({"comments": [{"text": text}]}))
                served.append(1000 * seconds)
                if status != 200:
                    raise SystemExit(f"/v1/score answered {status}")
    finally:
        connection.close()
    return alone, served


def analyze_against_score(
    url: str, redis_url: str, texts: list[str], block: int = 10
) -> tuple[list[float], list[float]]:
    """The same texts through /v1/score and through Perspective's analyze (Coral's request), one at a time, both
    as cache misses: per text, the milliseconds of each.

    Needs a server with MODERATION_LOCAL_CACHE_SIZE=0: Redis is emptied before each side's block, so neither side
    finds the other's verdicts. The side that goes first alternates from block to block (this machine's speed
    drifts).
    """
    import redis as redis_client

    store = redis_client.Redis.from_url(redis_url)
    score_ms: list[float] = []
    analyze_ms: list[float] = []
    connection = connect(url)
    try:
        for start in range(0, len(texts), block):
            chunk = texts[start : start + block]
            sides = [("/v1/score", score_ms), (ANALYZE_PATH, analyze_ms)]
            for path, out in sides if (start // block) % 2 == 0 else sides[::-1]:
                store.flushdb()
                for text in chunk:
                    body = {"comments": [{"text": text}]} if path == "/v1/score" else coral_body(text)
                    status, seconds = timed_request(connection, path, json.dumps(body))
                    if status != 200:
                        raise SystemExit(f"{path} answered {status}")
                    out.append(1000 * seconds)
    finally:
        connection.close()
        store.close()
    return score_ms, analyze_ms


@dataclass
class _Rounds:
    requests: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    errors: int = 0
    p50s: list[float] = field(default_factory=list)

    def add(self, figures: dict[str, float], wall: float, cpu: float) -> None:
        self.requests += int(figures["requests"])
        self.errors += int(figures["errors"])
        self.wall += wall
        self.cpu += cpu
        self.p50s.append(figures["p50_ms"])

    def summary(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "concurrency": 32,
            "throughput_rps": self.requests / self.wall,
            "p50_ms": statistics.median(self.p50s),
            "worker_cpu_ms_per_request": 1000 * self.cpu / self.requests,
            "errors": self.errors,
        }


def hits_against_bare(
    master: int, url: str, bodies: list[dict[str, object]], rounds: int = 3
) -> tuple[dict[str, float], dict[str, float]]:
    """Cache hits and /healthz in alternating rounds of 1000 requests at concurrency 32, summed over the rounds."""
    run_load(url, "/v1/score", bodies, len(bodies), 32)  # a first pass: warm, and every text in the cache
    hits, bare = _Rounds(), _Rounds()
    for _ in range(rounds):
        for total, path, load in ((hits, "/v1/score", bodies), (bare, "/healthz", None)):
            cpu, started = worker_cpu_seconds(master), time.perf_counter()
            figures = run_load(url, path, load, 1000, 32)
            total.add(figures, time.perf_counter() - started, worker_cpu_seconds(master) - cpu)
    return hits.summary(), bare.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["embedded", "bert-base"], default="embedded")
    parser.add_argument("--texts", type=int, default=0, help="cache-miss texts at concurrency 32 (default by model)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from service import gunicorn_conf  # the settings the server below reads, from the same environment
    from service.redis_server import LocalRedis, free_port

    misses = args.texts or (640 if args.model == "embedded" else 160)
    work = Path(tempfile.mkdtemp(prefix="moderation-bench-"))
    model_env = {"MODERATION_TOXICITY_MODEL": "embedded"} if args.model == "embedded" else bert_base_checkpoint(work)
    texts = comment_texts(misses + 450 + 250 + 200)
    miss_texts, latency_texts = texts[:misses], texts[misses : misses + 450]
    perspective_texts, coral_texts = texts[-450:-200], texts[-200:]

    print(f"[{args.model}] raw model, in process: batch 32 and 16 on {misses} texts ...", flush=True)
    model = RawModel(model_env, miss_texts)
    raw_before, raw_16 = model.per_second(32), model.per_second(16)

    redis = LocalRedis(work / "redis").start()
    port = free_port()
    env = {**os.environ, **model_env, "REDIS_URL": redis.url, "PORT": str(port), "HF_HUB_OFFLINE": "1",
           "MODERATION_API_KEYS": f"bench:admin:{KEY}", "MODERATION_CORAL_SECRETS": CORAL_SECRET}
    url = f"http://127.0.0.1:{port}"
    log = work / "gunicorn.log"

    def bodies(chunk: list[str]) -> list[dict[str, object]]:
        return [{"comments": [{"text": t}]} for t in chunk]

    hit_bodies = bodies(miss_texts[:100])
    try:
        with gunicorn(env, log) as server:
            print(f"[{args.model}] cache misses at concurrency 32 ...", flush=True)
            calls, scored = scoring_batches(url)
            miss = run_load(url, "/v1/score", bodies(miss_texts), len(miss_texts), 32)
            calls_after, scored_after = scoring_batches(url)
            miss["texts_per_model_call"] = (scored_after - scored) / (calls_after - calls)
            # Again with the server idle: this machine's speed drifts, so the baseline is the mean of both sides.
            print(f"[{args.model}] raw model again, batch 32 ...", flush=True)
            raw_after = model.per_second(32)
            raw = (raw_before + raw_after) / 2
            print(f"[{args.model}] latency at concurrency 1, each text also scored alone in process ...", flush=True)
            alone, served = alone_and_served(model, url, latency_texts[:50])
            latency = {1: {"requests": len(served), "concurrency": 1, **percentiles(served), "errors": 0}}
            for concurrency, (start, end) in ((8, (50, 250)), (32, (250, 450))):
                print(f"[{args.model}] latency at concurrency {concurrency} ...", flush=True)
                chunk = latency_texts[start:end]
                latency[concurrency] = run_load(url, "/v1/score", bodies(chunk), len(chunk), concurrency)
            print(f"[{args.model}] cache hits from the worker's memory, and the bare endpoint ...", flush=True)
            hits, bare = hits_against_bare(server.pid, url, hit_bodies)
            rss = worker_rss_mb(server.pid)
        # The same hits with the memory layer off: each one is a Redis round trip.
        with gunicorn({**env, "MODERATION_LOCAL_CACHE_SIZE": "0"}, log) as server:
            print(f"[{args.model}] cache hits from Redis (MODERATION_LOCAL_CACHE_SIZE=0), and the bare endpoint ...",
                  flush=True)
            redis_hits, redis_bare = hits_against_bare(server.pid, url, hit_bodies)
            print(f"[{args.model}] Perspective analyze (Coral's request) against /v1/score, concurrency 1 ...",
                  flush=True)
            score_c1, analyze_c1 = analyze_against_score(url, redis.url, perspective_texts[:50])
            print(f"[{args.model}] Perspective analyze (Coral's request), concurrency 8 ...", flush=True)
            coral = [coral_body(t) for t in perspective_texts[50:]]
            analyze_c8 = run_load(url, ANALYZE_PATH, coral, len(coral), 8)
            print(f"[{args.model}] Coral's external moderation phase, concurrency 8 ...", flush=True)
            phase = [coral_phase_request(t) for t in coral_texts]
            phase_c8 = run_load(url, CORAL_PATH, None, len(phase), 8, signed=phase, ok=(200, 204))
    finally:
        redis.stop()

    result = {
        "commit": git_commit(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": args.model if args.model == "embedded" else "bert-base (Detoxify original shapes, random weights)",
        "machine": f"{os.cpu_count()} cores",
        "gunicorn": {"workers": gunicorn_conf.workers, "threads": gunicorn_conf.threads},
        "raw_batched_texts_per_s": raw,
        "raw_batched_before_and_after_misses": [raw_before, raw_after],
        "raw_batch_16_texts_per_s": raw_16,
        "cache_miss_ratio_to_raw_batch_16": miss["throughput_rps"] / raw_16,
        "cache_miss_c32": miss,
        "cache_miss_ratio_to_raw": miss["throughput_rps"] / raw,
        "latency": latency,
        "model_ms_one_comment": statistics.median(alone),
        "concurrency_1_ms_alone_and_served": [[round(a, 1), round(b, 1)] for a, b in zip(alone, served, strict=True)],
        "cache_hit_c32": hits,
        "bare_endpoint_c32": bare,
        "cache_hit_ratio_to_bare": hits["throughput_rps"] / bare["throughput_rps"],
        "cache_hit_worker_cpu_ratio": bare["worker_cpu_ms_per_request"] / hits["worker_cpu_ms_per_request"],
        "redis_cache_hit_c32": redis_hits,
        "redis_bare_endpoint_c32": redis_bare,
        "redis_cache_hit_ratio_to_bare": redis_hits["throughput_rps"] / redis_bare["throughput_rps"],
        "redis_cache_hit_worker_cpu_ratio": (
            redis_bare["worker_cpu_ms_per_request"] / redis_hits["worker_cpu_ms_per_request"]
        ),
        "worker_rss_mb": rss,
        "perspective_analyze": {
            "concurrency_1_p50_ms": statistics.median(analyze_c1),
            "score_concurrency_1_p50_ms": statistics.median(score_c1),
            "concurrency_1_p50_difference_ms": statistics.median(analyze_c1) - statistics.median(score_c1),
            "concurrency_1_ms_score_and_analyze": [
                [round(a, 1), round(b, 1)] for a, b in zip(score_c1, analyze_c1, strict=True)
            ],
            "concurrency_8": analyze_c8,
        },
        "coral_phase_c8": phase_c8,
    }
    out = ROOT / "var" / "bench" / f"{args.model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print_table(result, out)


def git_commit() -> str:
    """The commit measured, marked when the working tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout
    return head.strip() + (" (with uncommitted changes)" if dirty.strip() else "")


def print_table(result: dict[str, object], out: Path) -> None:
    miss = result["cache_miss_c32"]
    latency = result["latency"]
    raws = result["raw_batched_before_and_after_misses"]
    assert isinstance(raws, list)
    before, after = raws
    assert isinstance(miss, dict) and isinstance(latency, dict)
    loads = [miss, *latency.values()]
    rows = [
        ("model", str(result["model"])),
        ("commit", f"{result['commit']}, finished {result['finished_at']}"),
        ("raw model, batch 32, in process", f"{result['raw_batched_texts_per_s']:.1f} comments/s  "
                                            f"(mean of {before:.1f} before and {after:.1f} after the misses)"),
        ("cache miss, 32 clients", f"{miss['throughput_rps']:.1f} comments/s  "
                                   f"(ratio to raw {result['cache_miss_ratio_to_raw']:.2f}; target >= 0.85)"),
        ("texts per model call, cache misses", f"{miss['texts_per_model_call']:.1f}"),
        ("raw model, batch 16, in process", f"{result['raw_batch_16_texts_per_s']:.1f} comments/s  "
                                            f"(miss ratio to it {result['cache_miss_ratio_to_raw_batch_16']:.2f})"),
        ("model's own time, one comment (median)", f"{result['model_ms_one_comment']:.1f} ms"),
    ]
    for concurrency, figures in latency.items():
        summary = f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"
        if concurrency == 1:
            alone = result["model_ms_one_comment"]
            assert isinstance(alone, float)
            summary += f"  (p50 target <= the model's own time + 5 = {alone + 5:.1f} ms)"
        rows.append((f"latency, concurrency {concurrency}", summary))
    for label, prefix in (("from worker memory", ""), ("from Redis", "redis_")):
        hits, bare = result[f"{prefix}cache_hit_c32"], result[f"{prefix}bare_endpoint_c32"]
        assert isinstance(hits, dict) and isinstance(bare, dict)
        loads += [hits, bare]
        rows += [
            (f"cache hit {label}, 32 clients", f"{hits['throughput_rps']:.0f} req/s against /healthz "
                                               f"{bare['throughput_rps']:.0f}  (ratio "
                                               f"{result[f'{prefix}cache_hit_ratio_to_bare']:.2f}; target >= 0.7)"),
            ("  worker CPU a request, hit vs bare", f"{hits['worker_cpu_ms_per_request']:.2f} vs "
                                                    f"{bare['worker_cpu_ms_per_request']:.2f} ms  (bare / hit "
                                                    f"{result[f'{prefix}cache_hit_worker_cpu_ratio']:.2f})"),
        ]
    perspective = result["perspective_analyze"]
    assert isinstance(perspective, dict)
    loads.append(perspective["concurrency_8"])
    rows += [
        ("Perspective analyze (Coral), concurrency 1", f"p50 {perspective['concurrency_1_p50_ms']:.1f} ms against "
                                                       f"/v1/score {perspective['score_concurrency_1_p50_ms']:.1f} ms "
                                                       f"on the same texts (difference "
                                                       f"{perspective['concurrency_1_p50_difference_ms']:+.1f} ms; "
                                                       "target within 5 ms)"),
        ("Perspective analyze (Coral), concurrency 8", f"p50 {perspective['concurrency_8']['p50_ms']:.1f} ms, p99 "
                                                       f"{perspective['concurrency_8']['p99_ms']:.1f} ms  "
                                                       "(target p99 < 800 ms, Coral's timeout)"),
    ]
    phase = result["coral_phase_c8"]
    assert isinstance(phase, dict)
    loads.append(phase)
    rows.append(("Coral external phase, concurrency 8", f"p50 {phase['p50_ms']:.1f} ms, p99 {phase['p99_ms']:.1f} ms  "
                                                        "(target p99 < 800 ms, Coral's timeout)"))
    rows += [
        ("worker resident memory", ", ".join(f"{mb} MB" for mb in result["worker_rss_mb"])),  # type: ignore[attr-defined]
        ("errors (non-200)", str(sum(int(figures["errors"]) for figures in loads))),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
