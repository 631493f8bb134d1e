"""The webhook sender, run by the worker (`moderation worker`) beside gunicorn: requests never wait on a receiver.

One thread per webhook delivers its events one at a time, in the order they were written, while it holds the
webhook's lock in Redis (so replicas of the worker never race each other). A delivery is a POST whose answer is
2xx within MODERATION_WEBHOOK_TIMEOUT_SECONDS; anything else is retried after MODERATION_WEBHOOK_RETRY_SECONDS,
doubled each time up to an hour, until MODERATION_WEBHOOK_GIVE_UP_SECONDS have passed since the first failure:
then the event becomes a dead letter and the next one goes. At least once: an event is acknowledged only after
its receiver said so, and a worker killed in between sends it again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid

import httpx
import redis

from service.config import Settings
from service.store.webhooks import Item, RetryState, WebhookStore
from service.webhooks import SIGNATURE_HEADER, Webhook, sign

_log = logging.getLogger(__name__)
MAX_RETRY_SECONDS = 3600.0
CONSUMER = "worker"  # one consumer per group: the lock, not the group, decides who delivers
_IDLE_BLOCK_MS = 1000


def retry_delay(attempts: int, first: float) -> float:
    """Seconds before the next try after `attempts` failures: the first delay, doubled each time, at most an hour."""
    return min(first * 2.0 ** (attempts - 1), MAX_RETRY_SECONDS)


class Poster:
    """POSTs a signed event; the only module that speaks HTTP to receivers."""

    def __init__(self, timeout: float) -> None:
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def post(self, hook: Webhook, item: Item) -> str | None:
        """None when the receiver took it (2xx); else what went wrong, for the retry state and the dead letter."""
        body = item.body or b""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "comment-moderation-webhooks/1",
            "X-Moderation-Event": item.event_type,
            "X-Moderation-Event-Id": item.event_id,
            SIGNATURE_HEADER: sign(hook.spec.secret.get_secret_value(), body, int(time.time())),
        }
        try:
            response = self._client.post(hook.spec.url, content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is no HTTPError
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def close(self) -> None:
        self._client.close()


def _retrying_since(item: Item, first_failed_at: float) -> float:
    """When the give-up period of an item began: when its event was written, or when it first failed if that was
    earlier (a clock skew) or it is a replay. A receiver down for days does not hold each event of its backlog for
    another day: each event older than the period gets one more try, then becomes a dead letter."""
    if item.kind == "replay":
        return first_failed_at
    return min(first_failed_at, int(item.event_id.split("-")[0]) / 1000)


class HookSender:
    """Delivers one webhook's events until it is removed or the worker stops."""

    def __init__(self, store: WebhookStore, name: str, settings: Settings) -> None:
        self._store = store
        self._name = name
        self._settings = settings
        self._token = uuid.uuid4().hex
        # Held across a slow delivery with room to spare, and short enough that a killed worker's lock soon lapses.
        self._lock_seconds = 2 * settings.webhook_timeout_seconds + 5
        self._poster = Poster(settings.webhook_timeout_seconds)

    def step(self) -> float | None:
        """One move: returns how long to wait before the next, or None when the webhook is gone."""
        hook = self._store.get(self._name)
        if hook is None:
            return None
        if not self._store.hold(self._name, self._token, self._lock_seconds):
            return 1.0
        item = self._store.next_item(self._name, CONSUMER, _IDLE_BLOCK_MS)
        if item is None:
            return 0.0
        if item.body is None or not hook.wants(item.event_type, item.site):
            self._store.finish(self._name, self._token, item, delivered=False)
            return 0.0
        state = self._store.retry_state(self._name, item)
        now = time.time()
        if state is not None and state.next_at > now:
            return min(state.next_at - now, 1.0)
        error = self._poster.post(hook, item)
        if error is None:
            self._store.finish(self._name, self._token, item, delivered=True)
            return 0.0
        attempts = (state.attempts if state else 0) + 1
        first = state.first_failed_at if state else now
        failed = RetryState(attempts, first, now + retry_delay(attempts, self._settings.webhook_retry_seconds), error)
        if now - _retrying_since(item, first) >= self._settings.webhook_give_up_seconds:
            _log.warning("webhook %s: event %s dead after %d attempts: %s", self._name, item.event_id, attempts, error)
            self._store.dead_letter(self._name, self._token, item, failed)
        else:
            _log.info("webhook %s: event %s failed (attempt %d): %s", self._name, item.event_id, attempts, error)
            self._store.retry_later(self._name, self._token, item, failed)
        return 0.0

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    wait = self.step()
                except redis.RedisError as exc:
                    _log.warning("webhook %s: Redis unavailable, retrying: %s", self._name, exc)
                    wait = 1.0
                except Exception:  # a bug must not end delivery: the next step tries again
                    _log.exception("webhook %s: unexpected error, retrying", self._name)
                    wait = 1.0
                if wait is None:
                    return
                if wait:
                    stop.wait(wait)
        finally:
            self._poster.close()
            with contextlib.suppress(redis.RedisError):  # the lock lapses by itself
                self._store.let_go(self._name, self._token)


def run_dispatcher(store: WebhookStore, settings: Settings, stop: threading.Event) -> None:
    """A sender thread for every webhook, started as webhooks appear (checked every second); each ends when its
    webhook is deleted. Returns when `stop` is set and the senders have finished their current delivery."""
    senders: dict[str, threading.Thread] = {}
    while not stop.is_set():
        try:
            names = [hook.name for hook in store.all()]
        except redis.RedisError as exc:
            _log.warning("webhooks unavailable, retrying: %s", exc)
            names = []
        for name in names:
            if name not in senders or not senders[name].is_alive():
                sender = HookSender(store, name, settings)
                senders[name] = threading.Thread(target=sender.run, args=(stop,), name=f"webhook-{name}", daemon=True)
                senders[name].start()
        stop.wait(1.0)
    for thread in senders.values():
        thread.join(timeout=settings.webhook_timeout_seconds + 2)
