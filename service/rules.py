"""Each worker's compiled copy of the operator's rules: site policies, one word-list matcher, key site limits.

Compiling 10,000 terms takes tens of milliseconds, far too long for every request, so a worker keeps a compiled
snapshot and checks Redis's rules version at most every `refresh_seconds`; the worker that made a change reloads
at once. A change thus reaches every worker and replica within that interval, with no restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import redis

from service.policy import Decision, Policy
from service.store.rules import RulesSnapshot, RulesStore, StoredPolicy
from service.wordlists import WordListMatcher

_log = logging.getLogger(__name__)


def site_policy(base: Policy, stored: StoredPolicy) -> Policy:
    """The deployment's policy with the site's own thresholds, categories and unsupported-language decision.

    A category the site leaves out of `review` or `reject` keeps the deployment's threshold. Raises ValueError when
    a reject threshold falls below its review threshold.
    """
    document = stored.document
    categories = document.get("categories")
    unsupported = document.get("unsupported_language")
    return Policy(
        name=f"{stored.site}#{stored.version}",
        review={**base.review, **document.get("review", {})},
        reject={**base.reject, **document.get("reject", {})},
        unsupported_language=Decision(unsupported) if unsupported else base.unsupported_language,
        categories=frozenset(categories) if categories is not None else None,
    )


def policy_in_force(base: Policy, stored: StoredPolicy) -> tuple[Policy, bool]:
    """The site's policy and True; or, where it no longer fits the deployment's thresholds, the deployment's and
    False."""
    try:
        return site_policy(base, stored), True
    except ValueError as exc:  # stored under other deployment thresholds: the deployment's stands in
        _log.warning("site %s: stored policy does not apply (%s); using the deployment's", stored.site, exc)
        return base, False


@dataclass(frozen=True)
class SiteRules:
    """One consistent set of rules, compiled; read-only, shared by a worker's threads."""

    version: int
    base: Policy
    policies: Mapping[str, Policy]
    matcher: WordListMatcher
    key_sites: Mapping[str, frozenset[str]]
    stored: RulesSnapshot | None = field(default=None, compare=False)

    def policy(self, site: str) -> Policy:
        """The site's own policy, or the deployment's for a site without one."""
        return self.policies.get(site, self.base)

    def sites_of(self, key_name: str) -> frozenset[str] | None:
        """The sites an API key is limited to; None for a key that may use every site."""
        return self.key_sites.get(key_name)


def compile_rules(snapshot: RulesSnapshot, base: Policy, env_key_sites: Mapping[str, tuple[str, ...]]) -> SiteRules:
    policies: dict[str, Policy] = {}
    for site, stored in snapshot.policies.items():
        policy, applies = policy_in_force(base, stored)
        if applies:
            policies[site] = policy
    # A limit set through the admin API replaces the environment's for that key.
    key_sites = {name: frozenset(sites) for name, sites in {**env_key_sites, **snapshot.key_sites}.items()}
    matcher = WordListMatcher(stored.wordlist for stored in snapshot.wordlists.values())
    return SiteRules(snapshot.version, base, policies, matcher, key_sites, snapshot)


class RulesCache:
    """The worker's current `SiteRules`, reloaded when Redis's rules version moves."""

    def __init__(
        self,
        store: RulesStore,
        base: Policy,
        env_key_sites: Mapping[str, tuple[str, ...]],
        refresh_seconds: float,
    ) -> None:
        self.store = store
        self._base = base
        self._env_key_sites = dict(env_key_sites)
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._rules = compile_rules(RulesSnapshot(0, {}, {}, {}), base, self._env_key_sites)
        self._checked_at = float("-inf")

    def current(self) -> SiteRules:
        """The rules, checked against Redis's version when the last check is older than the refresh interval.

        While Redis cannot be reached the last rules stay in force: nothing can change them meanwhile."""
        if time.monotonic() - self._checked_at < self._refresh_seconds:
            return self._rules
        with self._lock:
            if time.monotonic() - self._checked_at >= self._refresh_seconds:
                try:
                    if self.store.version() != self._rules.version or self._rules.stored is None:
                        self._reload()
                except redis.RedisError:
                    _log.warning("rules version unavailable; keeping rules version %d", self._rules.version)
                self._checked_at = time.monotonic()
            return self._rules

    def reload(self) -> SiteRules:
        """Load now: after this worker changed a rule, its next request must see the change."""
        with self._lock:
            self._reload()
            self._checked_at = time.monotonic()
            return self._rules

    def _reload(self) -> None:
        snapshot = self.store.snapshot()
        self._rules = compile_rules(snapshot, self._base, self._env_key_sites)
