"""The `moderation` command: score, fetch-models without a network, and start-up without model weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

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


def test_fetch_models_without_network_fails_cleanly(tmp_path: Path) -> None:
    result = run([*command(), "fetch-models", "--model", "detoxify-original"], environment(tmp_path), timeout=120)
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
