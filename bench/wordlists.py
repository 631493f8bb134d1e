"""`make bench`: what word lists add to a comment's verdict, with 0, 1,000 and 10,000 terms, in one run.

Starts a real redis-server and builds the app as gunicorn's workers do; scores every text once (the verdict cache
then holds its scores), and times `ModerationService.verdicts` for one comment at a time, the path every request
takes on a cache hit: rules, word-list matching, the site's decision. The term counts alternate round by round (this
machine's speed drifts between minutes). Terms are generated with a fixed seed: made-up words and two-word phrases,
a tenth with a `*` inside, split over a reject, a review and an allow list.

    .venv/bin/python bench/wordlists.py

Prints the median time per comment at each size, what it adds to no lists, and the ratio; writes
var/bench/wordlists.json.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service import create_app
from service.moderation import ModerationService
from service.redis_server import LocalRedis
from service.wordlists import WordList

ROOT = Path(__file__).resolve().parents[1]
SIZES = (0, 1_000, 10_000)
ROUNDS = 7
SITE = "news"


def texts() -> list[str]:
    """Comment-length texts the project ships: the seed thread and the functional suites."""
    data = ROOT / "tests" / "data"
    seed = json.loads((data / "seed_comments.json").read_text())
    found = [comment["text"] for comment in seed["comments"]]
    for name in ("functional_toxicity.jsonl", "functional_conspiracy.jsonl"):
        found += [json.loads(line)["text"] for line in (data / name).read_text().splitlines() if line.strip()]
    return found[:300]


def wordlists(count: int, rng: random.Random) -> list[WordList]:
    if count == 0:
        return []
    terms: list[str] = []
    while len(terms) < count:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 10)))
        if rng.random() < 0.1:
            cut = rng.randint(1, len(word) - 2)
            word = f"{word[:cut]}*{word[cut + 1:]}"
        elif rng.random() < 0.2:
            word = f"{word} {''.join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8)))}"
        terms.append(word)
    half = count // 2
    return [
        WordList("bench-reject", "reject", tuple(terms[:half])),
        WordList("bench-review", "review", tuple(terms[half:]), sites=(SITE,)),
        WordList("bench-allow", "allow", tuple(terms[: count // 100])),
    ]


def use(service: ModerationService, lists: list[WordList]) -> int:
    store = service.rules.store
    for name in list(store.snapshot().wordlists):
        store.delete_wordlist(name)
    for wordlist in lists:
        store.put_wordlist(wordlist, "bench")
    return service.rules.reload().matcher.term_count


def time_per_comment(service: ModerationService, sample: list[str]) -> list[float]:
    seconds = []
    for text in sample:
        started = time.perf_counter()
        service.verdicts([text], [SITE])
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> int:
    rng = random.Random(20261207)
    sample = texts()
    with tempfile.TemporaryDirectory() as folder:
        server = LocalRedis(Path(folder)).start()
        try:
            app = create_app({"REDIS_URL": server.url, "MODERATION_API_KEYS": "bench:admin:bench-secret-0123456789"})
            service: ModerationService = app.extensions["moderation.service"]
            for start in range(0, len(sample), 32):  # every score now cached
                service.verdicts(sample[start : start + 32], [SITE] * len(sample[start : start + 32]))
            built = {size: wordlists(size, rng) for size in SIZES}
            timings: dict[int, list[float]] = {size: [] for size in SIZES}
            compiled: dict[int, int] = {}
            for _ in range(ROUNDS):
                for size in SIZES:
                    compiled[size] = use(service, built[size])
                    timings[size] += time_per_comment(service, sample)
        finally:
            server.stop()
    base = statistics.median(timings[0])
    rows: list[dict[str, Any]] = []
    print(f"{len(sample)} comments x {ROUNDS} rounds, verdicts on a cache hit (rules, word lists, decision)")
    print(f"{'terms':>7} {'compiled':>9} {'median us':>10} {'added us':>9} {'ratio':>6}")
    for size in SIZES:
        median = statistics.median(timings[size])
        rows.append({"terms": size, "compiled": compiled[size], "median_seconds": median, "ratio": median / base})
        added = (median - base) * 1e6
        print(f"{size:>7} {compiled[size]:>9} {median * 1e6:>10.1f} {added:>9.1f} {median / base:>6.2f}")
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "wordlists.json").write_text(json.dumps({"rows": rows, "rounds": ROUNDS, "comments": len(sample)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
