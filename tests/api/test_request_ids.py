"""Every response names its request: X-Request-ID, kept from the caller when it is sane, made up otherwise."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.observability import JsonFormatter
from tests.conftest import auth


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("get", "/healthz", {}, 200),
        ("get", "/v1/queue", {}, 401),
        ("get", "/v1/no-such-route", {}, 404),
        ("get", "/v1/queue?limit=0", auth("moderator"), 422),
    ],
)
def test_every_response_carries_a_request_id(
    client: FlaskClient, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = getattr(client, method)(path, headers=headers)
    assert response.status_code == status
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_a_sane_incoming_request_id_is_kept(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "edge-42.a:b"}).headers["X-Request-ID"] == "edge-42.a:b"


@pytest.mark.parametrize("incoming", ["has space", "x" * 129, "semi;colon", ""])
def test_an_odd_incoming_request_id_is_replaced(client: FlaskClient, incoming: str) -> None:
    returned = client.get("/healthz", headers={"X-Request-ID": incoming}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", returned)


def test_json_log_lines_carry_the_request_id(app: Flask) -> None:
    formatter = JsonFormatter()
    with app.test_request_context("/healthz", headers={"X-Request-ID": "req-7"}):
        app.preprocess_request()
        record = logging.LogRecord("service", logging.INFO, __file__, 1, "scored %d texts", (3,), None)
        entry = json.loads(formatter.format(record))
    assert entry["request_id"] == "req-7"
    assert entry["message"] == "scored 3 texts"
    assert entry["level"] == "info" and entry["logger"] == "service" and entry["ts"].endswith("Z")


def test_json_log_lines_carry_exceptions() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("service", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "RuntimeError: boom" in entry["exception"]
    assert "request_id" not in entry
