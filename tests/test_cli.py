"""The `moderation` command: serve and its Ctrl-C, score, fetch-models without a network, and start-up failures."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from service.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
MODERATION = ROOT / ".venv" / "bin" / "moderation"
SETTINGS_ENV = ("REDIS_URL", "MODERATION_TOXICITY_MODEL", "DETOXIFY_CHECKPOINT", "DETOXIFY_HF_CONFIG",
                "MODERATION_POLICY_FILE", "MODERATION_REVIEW_THRESHOLDS", "MODERATION_REJECT_THRESHOLDS")


def command() -> list[str]:
    return [str(MODERATION)] if MODERATION.is_file() else [sys.executable, "-m", "service.cli"]


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment with empty model caches, no model settings and no network for model hubs."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    env.update(
        TORCH_HOME=str(tmp_path / "torch"),
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def run(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(args[:3])} still running after {timeout} s (it hangs): {exc.stderr!r}")


def moderation_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("moderation:")]


def only_line(stderr: str) -> str:
    """The one line a failing command writes to stderr."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("moderation:"), stderr
    return lines[0]


def test_score_prints_a_json_verdict(tmp_path: Path, seed: dict[str, Any]) -> None:
    text = next(c["text"] for c in seed["comments"] if c["id"] == "seed-c1")
    result = run([*command(), "score", text], environment(tmp_path), timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    verdict = json.loads(result.stdout)
    assert {"decision", "flags", "scores", "evidence", "models", "policy", "cached"} <= set(verdict)
    assert verdict["decision"] in ("review", "reject")
    assert "conspiracy" in verdict["flags"]
    assert all(0.0 <= score <= 1.0 for score in verdict["scores"].values())
    assert {"toxicity", "conspiracy"} <= set(verdict["scores"])
    assert {"toxicity", "conspiracy"} <= set(verdict["models"])
    spans = verdict["evidence"]["conspiracy"]
    assert any("puppet" in span["text"] for span in spans)
    for span in spans:
        assert text[span["start"] : span["end"]] == span["text"]
    assert verdict["cached"] is False


def test_the_model_building_package_adds_train_and_eval(tmp_path: Path) -> None:
    result = run([*command(), "--help"], environment(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "{serve,score,worker,fetch-models,train,eval,feedback}" in result.stdout


def test_without_the_model_building_package_the_serving_commands_remain(tmp_path: Path) -> None:
    """The image installs the serving package alone, while the project's metadata still names `modelling.cli`."""
    hide_and_run = (
        "import sys; sys.modules['modelling'] = None\n"  # what `import modelling` raises where it is not installed
        "from service.cli import main; sys.exit(main(sys.argv[1:]))\n"
    )
    result = run([sys.executable, "-c", hide_and_run, "--help"], environment(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "{serve,score,worker,fetch-models,feedback}" in result.stdout
    refused = run([sys.executable, "-c", hide_and_run, "train", "toxicity"], environment(tmp_path), timeout=60)
    assert refused.returncode == 2
    assert "invalid choice: 'train'" in refused.stderr


def test_fetch_models_without_network_fails_cleanly(tmp_path: Path) -> None:
    # Online mode, but every download goes to a proxy on the discard port, where nothing listens: the test
    # never reaches github.com or huggingface.co, whether or not this machine has a network.
    env = environment(tmp_path, **dict.fromkeys(("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"),
                                                "http://127.0.0.1:9"))
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    result = run([*command(), "fetch-models", "--model", "detoxify-original"], env, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    line = only_line(result.stderr)
    assert "detoxify-original" in line
    assert "network" in line
    assert not (tmp_path / "torch" / "hub" / "checkpoints" / "toxic_original-c1212f89.ckpt").exists()


def test_fetch_models_of_an_unknown_model(tmp_path: Path) -> None:
    result = run([*command(), "fetch-models", "--model", "no-such-model"], environment(tmp_path), timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "no-such-model" in only_line(result.stderr)


def test_score_with_missing_detoxify_weights_names_fetch_models(tmp_path: Path) -> None:
    env = environment(tmp_path, MODERATION_TOXICITY_MODEL="detoxify-unbiased")
    result = run([*command(), "score", "hello"], env, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    line = only_line(result.stderr)
    assert "detoxify-unbiased" in line
    assert "moderation fetch-models" in line


def test_app_start_without_cached_weights_fails_with_one_line(tmp_path: Path) -> None:
    """gunicorn, as `moderation serve` and the image run it, must stop with a ModelUnavailable line."""
    port = free_port()
    env = environment(
        tmp_path,
        MODERATION_TOXICITY_MODEL="detoxify-unbiased",
        MODERATION_API_KEYS="root:admin:admin-secret",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        PORT=str(port),
    )
    args = [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf", "service.wsgi:app"]
    result = run(args, env, timeout=120)
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "Traceback" not in output
    lines = moderation_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert "detoxify-unbiased" in line
    assert "moderation fetch-models" in line
    assert "weights are not in the local cache" in line or "could not be loaded" in line
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_importing_the_wsgi_app_without_weights_exits(tmp_path: Path) -> None:
    env = environment(tmp_path, MODERATION_TOXICITY_MODEL="detoxify-unbiased")
    result = run([sys.executable, "-c", "import service.wsgi"], env, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "moderation fetch-models" in only_line(result.stderr)


def test_a_bad_redis_url_stops_serve_with_one_line_before_starting_anything(tmp_path: Path) -> None:
    env = environment(tmp_path, REDIS_URL="http://user:hunter2@cache:6379/0", PORT=str(free_port()))
    result = run([*command(), "serve", "--data-dir", str(tmp_path / "var")], env, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    line = only_line(result.stderr)
    assert "REDIS_URL" in line
    assert "redis://" in line
    assert "hunter2" not in line
    assert not (tmp_path / "var").exists()


def test_a_bad_redis_url_stops_the_wsgi_app_with_one_line(tmp_path: Path) -> None:
    env = environment(tmp_path, REDIS_URL="http://cache:6379/0")
    result = run([sys.executable, "-c", "import service.wsgi"], env, timeout=120)
    assert result.returncode == 3  # gunicorn stops instead of respawning workers
    assert "Traceback" not in result.stderr
    assert "REDIS_URL" in only_line(result.stderr)


# --- moderation serve -----------------------------------------------------------------------------------------

DEV_KEY = re.compile(r"^\s+(submitter|moderator|admin)\s+Authorization: Bearer (\S+)$", re.MULTILINE)


def children_of(pid: int) -> dict[int, str]:
    """The live child processes of `pid` with their command lines, from Linux's /proc."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue  # it ended while we looked
        if parent == pid:
            found[int(entry.name)] = cmdline
    return found


def one_child(children: dict[int, str], name: str) -> int:
    (pid,) = [pid for pid, cmdline in children.items() if name in cmdline]
    return pid


def test_serve_runs_redis_and_gunicorn_and_ctrl_c_drains_then_stops_both(tmp_path: Path) -> None:
    """REDIS_URL unset: serve starts redis-server in --data-dir, gunicorn and the worker, prints one key per role, and
    on Ctrl-C (SIGINT to the whole foreground process group) drains gunicorn with SIGTERM, stops the worker, then
    shuts Redis down, and exits 0."""
    port = free_port()
    env = environment(tmp_path, PORT=str(port))
    for name in ("MODERATION_API_KEYS", "HOST", "WEB_CONCURRENCY"):
        env.pop(name, None)
    data_dir = tmp_path / "var"
    stdout, stderr = tmp_path / "serve-stdout.log", tmp_path / "serve-stderr.log"
    base = f"http://127.0.0.1:{port}"
    children: dict[int, str] = {}
    with stdout.open("wb") as out, stderr.open("wb") as err:
        # Its own process group, like a terminal's foreground job, so that killpg below reaches it and its children.
        serve = subprocess.Popen(
            [*command(), "serve", "--data-dir", str(data_dir)],
            env=env, cwd=tmp_path, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 45
        while True:
            assert serve.poll() is None, f"serve exited: {stderr.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"serve not ready in 45 s: {stderr.read_text()[-3000:]}"
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)

        keys = dict(DEV_KEY.findall(stdout.read_text()))
        assert set(keys) == {"submitter", "moderator", "admin"}
        assert len(set(keys.values())) == 3

        def bearer(role: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {keys[role]}"}

        with httpx.Client(base_url=base, timeout=30) as http:
            comment = {"id": "serve-c1", "text": "Thanks for the article, the map of the region was really helpful."}
            created = http.post("/v1/comments", json=comment, headers=bearer("submitter"))
            assert created.status_code == 201, created.text
            assert http.get("/v1/queue", headers=bearer("moderator")).status_code == 200
            assert http.get("/v1/queue/stats", headers=bearer("admin")).status_code == 200
            assert http.get("/v1/queue", headers=bearer("submitter")).status_code == 403

        children = children_of(serve.pid)
        redis_pid, gunicorn_pid = one_child(children, "redis-server"), one_child(children, "gunicorn")
        worker_pid = one_child(children, "service.cli worker")
        # Sessions of their own: a terminal's Ctrl-C reaches only serve, which decides how they stop.
        assert os.getsid(redis_pid) == redis_pid
        assert os.getsid(gunicorn_pid) == gunicorn_pid
        assert os.getsid(worker_pid) == worker_pid

        os.killpg(serve.pid, signal.SIGINT)
        try:
            assert serve.wait(timeout=30) == 0, stderr.read_text()[-3000:]
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running 30 s after Ctrl-C: {stderr.read_text()[-3000:]}")
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        for pid in children:  # never leave a child behind, even when an assertion failed
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)

    assert not Path(f"/proc/{redis_pid}").exists()
    assert not Path(f"/proc/{gunicorn_pid}").exists()
    assert not Path(f"/proc/{worker_pid}").exists()
    assert "moderation: worker started (webhooks on, retention off)" in stdout.read_text()
    assert "moderation: worker stopped" in stdout.read_text()
    assert "Handling signal: term" in stderr.read_text()  # gunicorn's graceful shutdown, not SIGINT's quick one
    assert "ready to exit" in (data_dir / "redis" / "redis.log").read_text()  # Redis shut down cleanly
    assert "moderation: redis-server stopped" in stdout.read_text()
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=int(re.findall(r"redis://127\.0\.0\.1:(\d+)/", stdout.read_text())[0])).ping()
