"""Webhooks in Redis: the ones set through the admin API, and each one's delivery state.

The outbox is the event log itself (`EventLog`): every event is appended in the same transaction as the change it
reports. Each webhook reads it through a consumer group of its own, so its position survives restarts and an
event read but not yet acknowledged (a worker killed mid-delivery) is read again first. Events are delivered in
order, one at a time: a failing receiver holds back the events behind the failing one, so a comment's events never
arrive out of order. An event that keeps failing past the retry period goes to the webhook's dead letters, which an
admin can list and send back (replay).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import redis
from redis.client import Pipeline

from service.keys import Keys
from service.store.events import event_of
from service.store.streams import after, batches
from service.timestamps import now_rfc3339
from service.webhooks import ConfiguredWebhook, Webhook, WebhookSpec, configured_name

# The pending count reads the backlog at each scrape; past this many it reports this many.
PENDING_COUNT_CAP = 10_000

_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
# An item's outcome, written only by the holder of the webhook's lock: a worker whose lock lapsed during a slow
# delivery writes nothing, so the worker that took over decides alone. A dead letter is kept only if its event still
# exists (an erasure may have removed it during the last attempt).
_SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local outcome = ARGV[2]
if outcome == 'retry' then
    redis.call('HSET', KEYS[4], ARGV[7], ARGV[8])
    redis.call('HINCRBY', KEYS[5], 'failed', 1)
    return 1
end
local present
if ARGV[3] == 'stream' then
    present = #redis.call('XRANGE', KEYS[2], ARGV[4], ARGV[4]) > 0
    redis.call('XACK', KEYS[2], ARGV[5], ARGV[4])
else
    present = redis.call('LREM', KEYS[3], 1, ARGV[6]) > 0
end
redis.call('HDEL', KEYS[4], ARGV[7])
if outcome == 'delivered' then
    redis.call('HINCRBY', KEYS[5], 'delivered', 1)
elseif outcome == 'dead' then
    redis.call('HINCRBY', KEYS[5], 'failed', 1)
    if present then
        redis.call('HINCRBY', KEYS[5], 'dead_lettered', 1)
        redis.call('RPUSH', KEYS[6], ARGV[8])
    end
end
return 1
"""
# Remove, from each list in KEYS, the letters about the comments in ARGV: run inside an erasure's transaction.
_SCRUB = """
local wanted = {}
for i = 1, #ARGV do wanted[ARGV[i]] = true end
for _, key in ipairs(KEYS) do
    for _, raw in ipairs(redis.call('LRANGE', key, 0, -1)) do
        if wanted[cjson.decode(raw)['comment_id']] then redis.call('LREM', key, 0, raw) end
    end
end
return 0
"""
# Dead letters (all, or those whose event id is in ARGV) move to the replay list, in their order.
_REPLAY = """
local wanted = {}
for i = 1, #ARGV do wanted[ARGV[i]] = true end
local moved = 0
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    if #ARGV == 0 or wanted[cjson.decode(raw)['id']] then
        redis.call('RPUSH', KEYS[2], raw)
        redis.call('LREM', KEYS[1], 1, raw)
        moved = moved + 1
    end
end
return moved
"""


@dataclass(frozen=True)
class Item:
    """The next event a webhook is owed: a stream entry, or a dead letter an admin replayed."""

    kind: Literal["stream", "replay"]
    event_id: str
    # None for a stream entry removed (erased, or past retention) after it was read: nothing is left to send.
    body: bytes | None
    event_type: str = ""
    site: str = ""
    comment_id: str = ""
    raw: str = ""  # a replayed item's list value, removed once it is delivered

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.event_id}"


@dataclass(frozen=True)
class RetryState:
    attempts: int
    first_failed_at: float
    next_at: float
    last_error: str


@dataclass(frozen=True)
class DeadLetter:
    id: str
    type: str
    site: str
    comment_id: str
    attempts: int
    last_error: str
    dead_at: str
    body: str


@dataclass(frozen=True)
class WebhookCounts:
    name: str
    delivered: int
    failed: int  # failed attempts, each retry counted
    dead_lettered: int
    dead_letters: int  # in the list now
    pending: int  # events not yet delivered, skipped or given up on
    oldest_pending_seconds: float | None


def _body(entry_id: str, fields: dict[str, str]) -> bytes:
    return json.dumps(event_of(entry_id, fields), ensure_ascii=False, separators=(",", ":")).encode()


def _ms(event_id: str) -> int:
    return int(event_id.split("-")[0])


class WebhookStore:
    def __init__(self, client: redis.Redis, keys: Keys, configured: tuple[ConfiguredWebhook, ...] = ()) -> None:
        self._redis = client
        self._keys = keys
        self._configured = {
            configured_name(hook): Webhook(configured_name(hook), hook, "environment") for hook in configured
        }
        self._hold = client.register_script(_HOLD)
        self._release = client.register_script(_RELEASE)
        self._replay = client.register_script(_REPLAY)
        self._settle = client.register_script(_SETTLE)
        self._scrub = client.register_script(_SCRUB)

    # The webhooks

    def is_configured(self, name: str) -> bool:
        """Set by MODERATION_WEBHOOKS: the admin API can read it, not change it."""
        return name in self._configured

    def all(self) -> list[Webhook]:
        stored: dict[str, str] = self._redis.hgetall(self._keys.webhooks())  # type: ignore[assignment]
        admin = [self._from_json(name, raw) for name, raw in sorted(stored.items())]
        return [*self._configured.values(), *(h for h in admin if h.name not in self._configured)]

    def get(self, name: str) -> Webhook | None:
        if name in self._configured:
            return self._configured[name]
        raw = self._redis.hget(self._keys.webhooks(), name)
        return self._from_json(name, raw) if raw else None  # type: ignore[arg-type]

    def put(self, name: str, spec: WebhookSpec, by: str) -> tuple[Webhook, bool]:
        """Set an admin webhook; a new one is sent the events written from now on. Returns it and whether it is
        new. A changed one keeps its position and dead letters."""
        hook = Webhook(name, spec, "admin", now_rfc3339(), by)
        document = {
            **spec.model_dump(mode="json"),
            "secret": spec.secret.get_secret_value(),
            "updated_at": hook.updated_at,
            "updated_by": by,
        }
        self.ensure_group(name)
        created = bool(self._redis.hset(self._keys.webhooks(), name, json.dumps(document)))
        return hook, created

    def delete(self, name: str) -> bool:
        """Remove an admin webhook with its position, retries, dead letters and counts."""
        if not self._redis.hdel(self._keys.webhooks(), name):
            return False
        self.forget(name)
        return True

    def forget(self, name: str) -> None:
        k = self._keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(k.webhook_retry(name), k.webhook_dead(name), k.webhook_replay(name), k.webhook_counts(name))
        pipe.delete(k.webhook_lock(name))
        pipe.srem(k.webhook_names(), name)
        pipe.execute()
        with contextlib.suppress(redis.ResponseError):  # no event log yet
            self._redis.xgroup_destroy(k.events(), k.webhook_group(name))

    def ensure_group(self, name: str) -> None:
        """The webhook's consumer group, made at the log's end if missing: it is sent what is written from now."""
        self._redis.sadd(self._keys.webhook_names(), name)
        try:
            self._redis.xgroup_create(self._keys.events(), self._keys.webhook_group(name), id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _from_json(self, name: str, raw: str) -> Webhook:
        document: dict[str, Any] = json.loads(raw)
        updated_at, updated_by = document.pop("updated_at", None), document.pop("updated_by", None)
        return Webhook(name, WebhookSpec.model_validate_json(json.dumps(document)), "admin", updated_at, updated_by)

    # Delivery, by the one worker that holds the webhook's lock

    def hold(self, name: str, token: str, seconds: float) -> bool:
        """Take or renew the webhook's delivery lock: one worker delivers, so its events stay in order."""
        return bool(self._hold(keys=[self._keys.webhook_lock(name)], args=[token, int(seconds * 1000)]))

    def let_go(self, name: str, token: str) -> None:
        self._release(keys=[self._keys.webhook_lock(name)], args=[token])

    def next_item(self, name: str, consumer: str, block_ms: int) -> Item | None:
        """What the webhook is owed first: a replayed dead letter, else the event it read and has not acknowledged
        (a delivery cut short), else the next new event, waiting up to `block_ms` for one."""
        k = self._keys
        replayed = self._redis.lindex(k.webhook_replay(name), 0)
        if replayed:
            letter = json.loads(replayed)
            return Item(
                "replay",
                letter["id"],
                letter["body"].encode(),
                letter["type"],
                letter["site"],
                letter["comment_id"],
                replayed,  # type: ignore[arg-type]
            )
        group = k.webhook_group(name)
        try:
            for start, block in (("0", None), (">", block_ms)):
                found: Any = self._redis.xreadgroup(group, consumer, {k.events(): start}, count=1, block=block)
                entries = found[0][1] if found else []
                if entries:
                    entry_id, fields = entries[0]
                    if not fields:
                        return Item("stream", entry_id, None)
                    body = _body(entry_id, fields)
                    return Item("stream", entry_id, body, fields["type"], fields["site"], fields["comment_id"])
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            if self.get(name) is not None:  # not for a webhook deleted a moment ago: its place is gone with it
                self.ensure_group(name)
        return None

    def retry_state(self, name: str, item: Item) -> RetryState | None:
        raw = self._redis.hget(self._keys.webhook_retry(name), item.key)
        return RetryState(**json.loads(raw)) if raw else None

    def finish(self, name: str, token: str, item: Item, *, delivered: bool) -> bool:
        """The item is done with: delivered, or skipped (the webhook does not want it, or nothing is left of it).
        False when `token` no longer holds the webhook's lock: nothing was written."""
        return self._settled(name, token, item, "delivered" if delivered else "skipped", "")

    def retry_later(self, name: str, token: str, item: Item, state: RetryState) -> bool:
        return self._settled(name, token, item, "retry", json.dumps(asdict(state)))

    def dead_letter(self, name: str, token: str, item: Item, state: RetryState) -> bool:
        """Give up on the item: it moves to the dead letters, and the events behind it go on."""
        letter = DeadLetter(
            item.event_id,
            item.event_type,
            item.site,
            item.comment_id,
            state.attempts,
            state.last_error,
            now_rfc3339(),
            (item.body or b"").decode(),
        )
        return self._settled(name, token, item, "dead", json.dumps(asdict(letter)))

    def _settled(self, name: str, token: str, item: Item, outcome: str, payload: str) -> bool:
        k = self._keys
        keys = [
            k.webhook_lock(name),
            k.events(),
            k.webhook_replay(name),
            k.webhook_retry(name),
            k.webhook_counts(name),
            k.webhook_dead(name),
        ]
        args = [token, outcome, item.kind, item.event_id, k.webhook_group(name), item.raw, item.key, payload]
        return bool(self._settle(keys=keys, args=args))

    # Dead letters

    def dead_letters(self, name: str, limit: int) -> list[DeadLetter]:
        raw: list[str] = self._redis.lrange(self._keys.webhook_dead(name), 0, limit - 1)  # type: ignore[assignment]
        return [DeadLetter(**json.loads(r)) for r in raw]

    def replay(self, name: str, ids: list[str] | None = None) -> int:
        """Send dead letters back (all, or those with these event ids), ahead of the webhook's next event."""
        k = self._keys
        return int(self._replay(keys=[k.webhook_dead(name), k.webhook_replay(name)], args=ids or []))

    def _letter_lists(self) -> list[str]:
        """The dead and replay lists of every webhook that ever was, configured, set, or since removed from the
        environment: each may hold a comment's text."""
        stored: set[str] = self._redis.smembers(self._keys.webhook_names())  # type: ignore[assignment]
        names = stored | set(self._configured)
        return [
            key for name in sorted(names) for key in (self._keys.webhook_dead(name), self._keys.webhook_replay(name))
        ]

    def erase_in(self, pipe: Pipeline, comment_ids: list[str]) -> None:
        """Queue, on an erasure's transaction, the removal of every dead or replayed letter about these comments:
        each carries its comment's text. The lists are read when the transaction runs, not before."""
        if comment_ids:
            self._scrub(keys=self._letter_lists(), args=comment_ids, client=pipe)

    def drop_dead_before(self, cutoff_ms: int) -> int:
        """Remove dead and replayed letters whose event was written before `cutoff_ms` (retention)."""
        dropped = 0
        for key in self._letter_lists():
            letters: list[str] = self._redis.lrange(key, 0, -1)  # type: ignore[assignment]
            for raw in letters:
                if _ms(json.loads(raw)["id"]) < cutoff_ms:
                    dropped += int(self._redis.lrem(key, 0, raw))
        return dropped

    # What /metrics and the admin API report

    def counts(self, name: str) -> WebhookCounts:
        k = self._keys
        totals: dict[str, str] = self._redis.hgetall(k.webhook_counts(name))  # type: ignore[assignment]
        replays: list[str] = self._redis.lrange(k.webhook_replay(name), 0, -1)  # type: ignore[assignment]
        oldest = [_ms(json.loads(r)["id"]) for r in replays]
        pending = len(replays)
        group = self._group(name)
        if group is not None:
            try:
                unacknowledged: dict[str, Any] = self._redis.xpending(k.events(), k.webhook_group(name))
            except redis.ResponseError:  # the webhook was deleted since
                unacknowledged = {"pending": 0}
            if unacknowledged["pending"]:
                pending += int(unacknowledged["pending"])
                oldest.append(_ms(unacknowledged["min"]))
            pending += self._unread(group, oldest)
        return WebhookCounts(
            name=name,
            delivered=int(totals.get("delivered", 0)),
            failed=int(totals.get("failed", 0)),
            dead_lettered=int(totals.get("dead_lettered", 0)),
            dead_letters=int(self._redis.llen(k.webhook_dead(name))),
            pending=pending,
            oldest_pending_seconds=max(0.0, time.time() - min(oldest) / 1000) if oldest else None,
        )

    def _unread(self, group: dict[str, Any], oldest: list[int]) -> int:
        """Entries after the group's position; the first one's time goes into `oldest`. Redis 7 counts them
        (`lag`); on Redis 6 they are read, up to PENDING_COUNT_CAP."""
        first: list[tuple[str, Any]] = self._redis.xrange(  # type: ignore[assignment]
            self._keys.events(), min=after(group["last-delivered-id"]), count=1
        )
        if not first:
            return 0
        oldest.append(_ms(first[0][0]))
        if group.get("lag") is not None:
            return int(group["lag"])
        unread = 0
        for batch in batches(self._redis, self._keys.events(), first[0][0]):
            unread += len(batch)
            if unread >= PENDING_COUNT_CAP:
                return PENDING_COUNT_CAP
        return unread

    def _group(self, name: str) -> dict[str, Any] | None:
        try:
            groups: list[dict[str, Any]] = self._redis.xinfo_groups(self._keys.events())
        except redis.ResponseError:
            return None  # no event log yet
        return next((g for g in groups if g["name"] == self._keys.webhook_group(name)), None)
