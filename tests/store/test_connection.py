"""The Redis client: blocking sockets whose reads and writes time out in the kernel."""

from __future__ import annotations

import socket
import struct

import pytest
import redis

from service.config import Settings
from service.redis_server import LocalRedis
from service.store.connection import connect


def _pooled_socket(client: redis.Redis) -> socket.socket:
    client.ping()
    (connection,) = client.connection_pool._available_connections  # type: ignore[attr-defined]
    sock: socket.socket = connection._sock
    return sock


@pytest.mark.parametrize("seconds", [0.5, 2.25])
def test_sockets_block_and_time_out_in_the_kernel(redis_server: LocalRedis, seconds: float) -> None:
    # No Python-level timeout (CPython would poll before every send and receive); the kernel bounds each call.
    client = connect(Settings.model_validate({"REDIS_URL": redis_server.url, "REDIS_TIMEOUT_SECONDS": str(seconds)}))
    sock = _pooled_socket(client)
    assert sock.gettimeout() is None
    for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
        whole, micro = struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, option, 16))
        assert seconds <= whole + micro / 1_000_000 < seconds + 0.01  # the kernel keeps it in clock ticks
    client.close()


def test_a_url_timeout_still_applies(redis_server: LocalRedis) -> None:
    client = connect(Settings.model_validate({"REDIS_URL": f"{redis_server.url}?socket_timeout=3"}))
    assert _pooled_socket(client).gettimeout() == 3
    client.close()
