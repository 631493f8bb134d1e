"""The operator's rules in Redis: site policies, word lists and the sites each API key is limited to.

Every change writes its rule and raises one version counter in the same MULTI/EXEC, and a snapshot reads all of
them with the counter in one transaction: a worker that sees the counter move reloads a consistent set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis

from service.keys import Keys
from service.timestamps import now_rfc3339
from service.wordlists import WordList

_WRITE_ATTEMPTS = 5
# Remove a rule and raise the rules version only if there was one: a miss must not make every worker recompile.
_DELETE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
    redis.call('INCR', KEYS[2])
    return 1
end
return 0
"""


@dataclass(frozen=True)
class StoredPolicy:
    """A site's policy document as the admin API took it (`review`, `reject`, `categories`,
    `unsupported_language`), with its version: 1 for the first, one more for each change."""

    site: str
    document: dict[str, Any]
    version: int
    updated_at: str
    updated_by: str

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            **self.document,
            "version": self.version,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class StoredWordList:
    wordlist: WordList
    version: int
    updated_at: str
    updated_by: str

    def as_json(self, *, with_terms: bool = True) -> dict[str, Any]:
        listed = self.wordlist
        document: dict[str, Any] = {
            "name": listed.name,
            "action": listed.action,
            "sites": list(listed.sites) if listed.sites is not None else None,
            "language": listed.language,
            "term_count": len(listed.terms),
            "version": self.version,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }
        if with_terms:
            document["terms"] = list(listed.terms)
        return document


@dataclass(frozen=True)
class RulesSnapshot:
    version: int
    policies: dict[str, StoredPolicy]
    wordlists: dict[str, StoredWordList]
    key_sites: dict[str, tuple[str, ...]]


_Stored = TypeVar("_Stored", StoredPolicy, StoredWordList)


class RuleConflict(Exception):
    """Another writer kept changing the same rule; the caller may retry."""


class RulesStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def version(self) -> int:
        return int(self._redis.get(self._keys.rules_version()) or 0)

    def snapshot(self) -> RulesSnapshot:
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(self._keys.rules_version())
        pipe.hgetall(self._keys.site_policies())
        pipe.hgetall(self._keys.wordlists())
        pipe.hgetall(self._keys.key_sites())
        version, policies, wordlists, key_sites = pipe.execute()
        return RulesSnapshot(
            version=int(version or 0),
            policies={site: _policy(site, raw) for site, raw in policies.items()},
            wordlists={name: _wordlist(name, raw) for name, raw in wordlists.items()},
            key_sites={name: tuple(json.loads(raw)) for name, raw in key_sites.items()},
        )

    def put_policy(self, site: str, document: dict[str, Any], actor: str) -> StoredPolicy:
        """Store a new version of the site's policy: one more than its last, even one since deleted."""
        return self._put(
            self._keys.site_policies(),
            site,
            f"policy:{site}",
            lambda version: StoredPolicy(site, document, version, now_rfc3339(), actor),
        )

    def delete_policy(self, site: str) -> bool:
        return self._delete(self._keys.site_policies(), site)

    def put_wordlist(self, wordlist: WordList, actor: str) -> StoredWordList:
        """Replace the list whole: its terms, action and scope change together or not at all."""
        return self._put(
            self._keys.wordlists(),
            wordlist.name,
            f"wordlist:{wordlist.name}",
            lambda version: StoredWordList(wordlist, version, now_rfc3339(), actor),
        )

    def _put(self, key: str, field: str, counter: str, build: Callable[[int], _Stored]) -> _Stored:
        """Write `build(next version)` under `field`, with the rules version raised, in one transaction."""
        versions = self._keys.rule_versions()
        for _ in range(_WRITE_ATTEMPTS):
            with self._redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(versions)  # type: ignore[no-untyped-call]
                    stored = build(int(pipe.hget(versions, counter) or 0) + 1)
                    pipe.multi()
                    pipe.hset(key, field, json.dumps(stored.as_json()))
                    pipe.hset(versions, counter, stored.version)
                    pipe.incr(self._keys.rules_version())
                    pipe.execute()
                    return stored
                except redis.WatchError:
                    continue
        raise RuleConflict(field)

    def delete_wordlist(self, name: str) -> bool:
        return self._delete(self._keys.wordlists(), name)

    def put_key_sites(self, key_name: str, sites: tuple[str, ...]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._keys.key_sites(), key_name, json.dumps(list(sites)))
        pipe.incr(self._keys.rules_version())
        pipe.execute()

    def delete_key_sites(self, key_name: str) -> bool:
        return self._delete(self._keys.key_sites(), key_name)

    def _delete(self, key: str, field: str) -> bool:
        removed = self._redis.eval(_DELETE, 2, key, self._keys.rules_version(), field)
        return bool(removed)


def _policy(site: str, raw: str) -> StoredPolicy:
    document = json.loads(raw)
    meta = {name: document.pop(name) for name in ("version", "updated_at", "updated_by")}
    document.pop("site", None)
    return StoredPolicy(site, document, int(meta["version"]), str(meta["updated_at"]), str(meta["updated_by"]))


def _wordlist(name: str, raw: str) -> StoredWordList:
    document = json.loads(raw)
    sites = document.get("sites")
    wordlist = WordList(
        name=name,
        action=document["action"],
        terms=tuple(document["terms"]),
        sites=tuple(sites) if sites is not None else None,
        language=document.get("language"),
    )
    return StoredWordList(wordlist, int(document["version"]), document["updated_at"], document["updated_by"])
