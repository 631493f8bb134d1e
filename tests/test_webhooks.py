"""Webhook signatures and filters, and the verification code docs/webhooks.md gives sites, run as they would."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from service.webhooks import Webhook, WebhookSpec, sign
from tests.conftest import ROOT
from tests.webhook_receiver import verify

NODE = shutil.which("node")
JS = ROOT / "tests" / "data" / "verify_webhook.js"
DOC = (ROOT / "docs" / "webhooks.md").read_text()
SECRET = "whsec-moderation-0123456789"
BODY = '{"id":"1-0","type":"comment.held","comment":{"text":"café ☕ «quoted»"}}'.encode()


def test_the_signature_is_an_hmac_of_the_time_and_the_body() -> None:
    header = sign(SECRET, BODY, 1_765_000_000)
    assert header.startswith("t=1765000000,v1=") and len(header.split("v1=")[1]) == 64
    assert sign(SECRET, BODY, 1_765_000_000) == header
    assert sign(SECRET, BODY, 1_765_000_001) != header  # the time is signed
    assert sign(SECRET + "x", BODY, 1_765_000_000) != header


def test_the_documented_python_check_accepts_only_a_fresh_signature_of_these_bytes() -> None:
    now = int(time.time())
    assert verify(SECRET, sign(SECRET, BODY, now), BODY)
    assert not verify(SECRET, sign(SECRET, BODY, now - 301), BODY)  # an old request replayed
    assert not verify(SECRET, sign(SECRET, BODY, now), BODY + b" ")
    assert not verify("another-secret-entirely", sign(SECRET, BODY, now), BODY)
    assert not verify(SECRET, "v1=abc", BODY) and not verify(SECRET, "", BODY)
    assert inspect.getsource(verify) in DOC


def _node_verify(header: str, body: bytes, tmp_path: Path, secret: str = SECRET) -> str:
    assert NODE is not None
    (tmp_path / "body").write_bytes(body)
    done = subprocess.run(
        [NODE, str(JS), secret, header, str(tmp_path / "body")], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_the_documented_javascript_check_runs_under_node(tmp_path: Path) -> None:
    now = int(time.time())
    assert _node_verify(sign(SECRET, BODY, now), BODY, tmp_path) == "valid"
    assert _node_verify(sign(SECRET, BODY, now - 301), BODY, tmp_path) == "invalid"
    assert _node_verify(sign(SECRET, BODY, now), BODY + b" ", tmp_path) == "invalid"
    assert _node_verify(sign(SECRET, BODY, now), BODY, tmp_path, secret="another-secret-entirely") == "invalid"
    assert _node_verify("t=abc,v1=00", BODY, tmp_path) == "invalid"


def test_the_documented_javascript_is_the_tested_file() -> None:
    source = JS.read_text()
    function = source[source.index("const crypto") : source.index("// Called as")].rstrip()
    assert function in DOC


def test_a_webhook_wants_its_events_of_its_sites() -> None:
    spec = WebhookSpec.model_validate_json(
        '{"url": "https://a.example/in", "secret": "ssssssssssssssss", "events": ["comment.decided"],'
        ' "sites": ["news"]}'
    )
    hook = Webhook("desk", spec, "admin")
    assert hook.wants("comment.decided", "news")
    assert not hook.wants("comment.held", "news")
    assert not hook.wants("comment.decided", "sport")
    everywhere = Webhook("all", spec.model_copy(update={"sites": None}), "admin")
    assert everywhere.wants("comment.decided", "sport")
