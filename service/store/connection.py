"""The one Redis connection pool of a process, and the mapping of its failures to 503."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.config import Settings
from service.errors import StoreUnavailable

_EXTENSION = "moderation.redis"


def connect(settings: Settings) -> redis.Redis:
    """Short timeouts and no retries: a request must fail within a second when Redis is gone.

    The timeouts of reads and writes are the kernel's (SO_RCVTIMEO, SO_SNDTIMEO) on a blocking socket. With a
    Python-level timeout CPython polls before every send and every receive, and each poll hands the GIL to another
    of the worker's request threads: under 32 concurrent cache hits that churn was the largest cost of a hit.
    """
    timeout = settings.redis_timeout_seconds
    url_class = redis.connection.parse_url(settings.redis_url).get(  # type: ignore[no-untyped-call]
        "connection_class", redis.Connection
    )
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=None,
        socket_connect_timeout=timeout,
        connection_class=_with_kernel_timeouts(url_class, timeout),
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )


def _with_kernel_timeouts(base: type[Any], seconds: float) -> type[Any]:
    """`base` (TCP, TLS or Unix socket connection) whose sockets time out reads and writes in the kernel."""
    timeval = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))

    class KernelTimeoutConnection(base):  # type: ignore[misc]
        def _connect(self) -> socket.socket:
            sock: socket.socket = super()._connect()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
            return sock

    KernelTimeoutConnection.__name__ = f"KernelTimeout{base.__name__}"
    return KernelTimeoutConnection


def init_app(app: Flask, client: redis.Redis) -> None:
    app.extensions[_EXTENSION] = client


def get_redis() -> redis.Redis:
    client: redis.Redis = current_app.extensions[_EXTENSION]
    return client


@contextmanager
def unavailable_as_503() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable("the comment store is unavailable; retry shortly") from exc
