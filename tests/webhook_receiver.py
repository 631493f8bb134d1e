"""A real HTTP receiver for webhook tests: it listens on a loopback port, checks each request's signature with
`verify` (docs/webhooks.md prints it for sites to copy), and can fail its first requests or hold one open."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from service.redis_server import free_port


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """True when `header` signs `body` with `secret` and was made within `tolerance` seconds of now."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class Delivery:
    event_id: str
    event_type: str
    body: bytes
    signed: bool  # the signature checked out
    status: int  # what the receiver answered


class Receiver:
    def __init__(self, secret: str, *, fail_first: int = 0, port: int | None = None) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.port = port or free_port()
        self.attempts: list[Delivery] = []
        self.arrived = threading.Event()  # set when any request arrives
        self.release = threading.Event()  # while clear, requests are held open before they are answered
        self.release.set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def accepted(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.attempts if d.status == 200]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.arrived.set()
                receiver.release.wait(timeout=60)
                signed = verify(receiver.secret, self.headers.get("X-Moderation-Signature", ""), body)
                with receiver._lock:
                    failing = len(receiver.attempts) < receiver.fail_first
                    status = 200 if signed and not failing else (401 if not signed else 503)
                    receiver.attempts.append(
                        Delivery(
                            self.headers.get("X-Moderation-Event-Id", ""),
                            self.headers.get("X-Moderation-Event", ""),
                            body,
                            signed,
                            status,
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Delivery]:
        """The accepted deliveries, once there are `count` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.accepted) >= count:
                return self.accepted
            time.sleep(0.05)
        raise AssertionError(f"{len(self.accepted)} deliveries accepted, waited for {count}: {self.attempts}")
