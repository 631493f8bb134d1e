"""Each worker's compiled rules: a site's policy over the deployment's, key site limits, and how a change stored by
one worker reaches the others (within the refresh interval, or at once on `reload()`), Redis down or not.

Timings are never asserted: a change must become visible within a generous bound, and must not before a long
interval has passed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.keys import Keys
from service.policy import Decision, Policy
from service.redis_server import LocalRedis, free_port
from service.rules import RulesCache, SiteRules, compile_rules, site_policy
from service.scoring.normalize import normalize
from service.store.rules import RulesSnapshot, RulesStore, StoredPolicy, StoredWordList
from service.wordlists import WordList

KEYS = Keys("t:")
# How long a change may take to reach a worker that refreshes every SHORT seconds: far above it, for a busy machine.
SHORT = 0.2
VISIBLE_WITHIN = 5.0
LONG = 60.0


@pytest.fixture
def base() -> Policy:
    """The deployment's policy, as load_policy would build it for a Detoxify model."""
    return Policy(
        name="default",
        review={"toxicity": 0.5, "insult": 0.5, "threat": 0.5, "conspiracy": 0.75},
        reject={"toxicity": 0.9, "insult": 0.9, "threat": 0.9, "conspiracy": 0.95},
    )


def stored(site: str, document: dict[str, Any], version: int = 1) -> StoredPolicy:
    return StoredPolicy(site, document, version, "2025-04-25T09:30:00.000Z", "admin")


def dead_client() -> redis.Redis:
    """A client on a port nothing listens on, failing at once as the service's own client does (no retries)."""
    return redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))


def eventually(check: Callable[[], bool], within: float = VISIBLE_WITHIN) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


# --- site_policy ----------------------------------------------------------------------------------------------


def test_a_sites_thresholds_override_the_deployments(base: Policy) -> None:
    policy = site_policy(base, stored("news", {"review": {"toxicity": 0.3}, "reject": {"toxicity": 0.6}}, 4))
    assert policy.review == {"toxicity": 0.3, "insult": 0.5, "threat": 0.5, "conspiracy": 0.75}
    assert policy.reject == {"toxicity": 0.6, "insult": 0.9, "threat": 0.9, "conspiracy": 0.95}
    assert policy.name == "news#4"
    assert policy.version.startswith("news#4@")
    assert policy.decide({"toxicity": 0.4}) == (Decision.REVIEW, ["toxicity"])
    assert base.decide({"toxicity": 0.4}) == (Decision.ALLOW, [])


def test_a_category_the_site_leaves_out_keeps_the_deployments_thresholds(base: Policy) -> None:
    policy = site_policy(base, stored("news", {"reject": {"conspiracy": 0.99}}))
    assert policy.review == base.review
    assert policy.reject == {**base.reject, "conspiracy": 0.99}


def test_an_empty_document_decides_as_the_deployment(base: Policy) -> None:
    policy = site_policy(base, stored("news", {}))
    assert (policy.review, policy.reject, policy.categories) == (base.review, base.reject, None)
    assert policy.unsupported_language is base.unsupported_language
    for scores in ({"toxicity": 0.4}, {"insult": 0.6}, {"conspiracy": 0.96}):
        assert policy.decide(scores) == base.decide(scores)


def test_a_sites_categories_limit_what_counts(base: Policy) -> None:
    policy = site_policy(base, stored("news", {"categories": ["toxicity", "insult"]}))
    assert policy.categories == frozenset({"toxicity", "insult"})
    assert policy.decide({"conspiracy": 0.99, "insult": 0.1}) == (Decision.ALLOW, [])
    assert policy.decide({"conspiracy": 0.99, "insult": 0.6}) == (Decision.REVIEW, ["insult"])
    assert site_policy(base, stored("news", {})).categories is None


def test_categories_change_the_policy_version(base: Policy) -> None:
    """Verdicts name the policy version: a site that switches a category off must not share one with the same
    thresholds that count it."""
    every = site_policy(base, stored("news", {}))
    fewer = site_policy(base, stored("news", {"categories": ["toxicity"]}))
    assert every.version != fewer.version


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({}, Decision.REJECT),
        ({"unsupported_language": "review"}, Decision.REVIEW),
        ({"unsupported_language": "allow"}, Decision.ALLOW),
    ],
)
def test_unsupported_language_is_the_sites_or_else_the_deployments(
    base: Policy, document: dict[str, Any], expected: Decision
) -> None:
    strict_base = Policy(base.name, base.review, base.reject, unsupported_language=Decision.REJECT)
    policy = site_policy(strict_base, stored("news", document))
    assert policy.unsupported_language is expected
    assert policy.decide({"toxicity": 0.1}, language_supported=False)[0] is expected


@pytest.mark.parametrize(
    "document",
    [
        {"reject": {"toxicity": 0.4}},  # below the deployment's review threshold
        {"review": {"insult": 0.95}},  # above the deployment's reject threshold
        {"review": {"toxicity": 0.7}, "reject": {"toxicity": 0.6}},
    ],
)
def test_a_reject_below_review_is_refused(base: Policy, document: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="below its review threshold"):
        site_policy(base, stored("news", document))


# --- compile_rules --------------------------------------------------------------------------------------------


def snapshot(
    version: int = 1,
    policies: dict[str, StoredPolicy] | None = None,
    wordlists: list[WordList] | None = None,
    key_sites: dict[str, tuple[str, ...]] | None = None,
) -> RulesSnapshot:
    listed = {w.name: StoredWordList(w, 1, "2025-04-25T09:30:00.000Z", "admin") for w in wordlists or []}
    return RulesSnapshot(version, policies or {}, listed, key_sites or {})


def test_compiled_rules_give_each_site_its_policy_and_others_the_deployments(base: Policy) -> None:
    rules = compile_rules(snapshot(7, {"news": stored("news", {"review": {"toxicity": 0.3}})}), base, {})
    assert rules.version == 7
    assert rules.base is base
    assert rules.policy("news").review["toxicity"] == 0.3
    assert rules.policy("forum") is base
    assert rules.policy("default") is base


def test_admin_key_sites_override_the_environments_for_that_key(base: Policy) -> None:
    env = {"partner": ("news", "forum"), "kids-app": ("kids",)}
    rules = compile_rules(snapshot(key_sites={"partner": ("news",), "new-key": ("forum",)}), base, env)
    assert rules.sites_of("partner") == frozenset({"news"})
    assert rules.sites_of("kids-app") == frozenset({"kids"})
    assert rules.sites_of("new-key") == frozenset({"forum"})
    assert rules.sites_of("root") is None


def test_a_stored_policy_that_does_not_apply_is_skipped(base: Policy, caplog: pytest.LogCaptureFixture) -> None:
    """A policy stored under another deployment policy may clash with this one's thresholds: the deployment's
    stands in for that site, the other sites keep theirs, and the worker still starts."""
    policies = {
        "clash": stored("clash", {"reject": {"toxicity": 0.4}}),
        "news": stored("news", {"review": {"toxicity": 0.3}}),
    }
    with caplog.at_level(logging.WARNING, logger="service.rules"):
        rules = compile_rules(snapshot(policies=policies), base, {})
    assert set(rules.policies) == {"news"}
    assert rules.policy("clash") is base
    assert rules.policy("news").review["toxicity"] == 0.3
    assert any("clash" in record.getMessage() for record in caplog.records)


def test_compiled_word_lists_match_for_their_sites(base: Policy) -> None:
    lists = [WordList("banned", "reject", ("idiot",)), WordList("news-only", "review", ("sheeple",), ("news",))]
    rules = compile_rules(snapshot(wordlists=lists), base, {})
    text = normalize("you idiot sheeple")
    assert [(m.list_name, m.text) for m in rules.matcher.matches(text, "news", "en")] == [
        ("banned", "idiot"),
        ("news-only", "sheeple"),
    ]
    assert [m.list_name for m in rules.matcher.matches(text, "forum", "en")] == ["banned"]


# --- RulesCache -----------------------------------------------------------------------------------------------


@pytest.fixture
def second_client(redis_server: LocalRedis, redis_client: redis.Redis) -> Iterator[redis.Redis]:
    """Another worker's own connection to the same Redis (after redis_client emptied it)."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


def worker(
    client: redis.Redis, base: Policy, refresh: float, env: dict[str, tuple[str, ...]] | None = None
) -> RulesCache:
    return RulesCache(RulesStore(client, KEYS), base, env or {}, refresh)


def has_news_policy(cache: RulesCache) -> bool:
    return "news" in cache.current().policies


def test_a_change_reaches_another_worker_within_its_refresh_interval(
    redis_client: redis.Redis, second_client: redis.Redis, base: Policy
) -> None:
    one, other = worker(redis_client, base, SHORT), worker(second_client, base, SHORT)
    assert other.current().policy("news") is base

    one.store.put_policy("news", {"review": {"toxicity": 0.3}}, "alice")
    assert one.reload().policy("news").review["toxicity"] == 0.3
    assert eventually(lambda: has_news_policy(other))
    assert other.current().policy("news").review["toxicity"] == 0.3
    assert other.current().version == one.current().version == 1

    one.store.delete_policy("news")
    one.reload()
    assert eventually(lambda: not has_news_policy(other))
    assert other.current().policy("news") is base


def test_word_lists_and_key_sites_reach_another_worker(
    redis_client: redis.Redis, second_client: redis.Redis, base: Policy
) -> None:
    one = worker(redis_client, base, SHORT)
    other = worker(second_client, base, SHORT, env={"partner": ("news", "forum")})
    assert other.current().sites_of("partner") == frozenset({"news", "forum"})
    one.store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")
    one.store.put_key_sites("partner", ("news",))

    def updated() -> bool:
        rules = other.current()
        return rules.sites_of("partner") == frozenset({"news"}) and bool(
            rules.matcher.matches(normalize("you idiot"), "news", "en")
        )

    assert eventually(updated)

    # Removing the admin's limit brings back the environment's.
    one.store.delete_key_sites("partner")
    assert eventually(lambda: other.current().sites_of("partner") == frozenset({"news", "forum"}))


def test_with_a_long_interval_another_worker_keeps_its_rules_until_reload(
    redis_client: redis.Redis, second_client: redis.Redis, base: Policy
) -> None:
    one, other = worker(redis_client, base, LONG), worker(second_client, base, LONG)
    before = other.current()
    assert before.version == 0

    one.store.put_policy("news", {"review": {"toxicity": 0.3}}, "alice")
    assert one.reload().version == 1
    for _ in range(5):
        assert other.current() is before  # not checked again within the interval

    reloaded = other.reload()
    assert reloaded.version == 1
    assert reloaded.policy("news").review["toxicity"] == 0.3
    assert other.current() is reloaded


def test_the_worker_that_changed_a_rule_sees_it_at_once_on_reload(redis_client: redis.Redis, base: Policy) -> None:
    cache = worker(redis_client, base, LONG)
    cache.current()
    cache.store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")
    assert cache.current().matcher.term_count == 0
    assert cache.reload().matcher.term_count == 1
    assert cache.current().version == 1 and sorted(cache.current().policies) == []


def test_rules_are_not_recompiled_while_the_version_stands(redis_client: redis.Redis, base: Policy) -> None:
    """Compiling 10,000 terms is slow: an unchanged version keeps the compiled rules, however often checked."""
    cache = worker(redis_client, base, 0.0)
    cache.store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")
    first = cache.current()
    assert first.version == 1
    assert all(cache.current() is first for _ in range(20))
    cache.store.put_policy("news", {}, "alice")
    assert cache.current() is not first
    assert cache.current().version == 2


def test_an_unreachable_redis_leaves_the_initial_rules(base: Policy) -> None:
    """A worker that starts while Redis is down decides by the deployment's policy rather than failing requests."""
    cache = RulesCache(RulesStore(dead_client(), KEYS), base, {"partner": ("news",)}, 0.0)
    for _ in range(3):
        rules = cache.current()
        assert isinstance(rules, SiteRules)
        assert rules.version == 0
        assert rules.policy("news") is base
        assert rules.sites_of("partner") == frozenset({"news"})


def test_rules_stay_in_force_while_redis_is_unreachable(tmp_path: Path, base: Policy) -> None:
    """Redis goes away after the worker loaded its rules: it keeps them (nothing can change them meanwhile), and
    picks up changes once Redis is back."""
    server = LocalRedis(tmp_path / "redis").start()
    try:
        client = redis.Redis.from_url(
            server.url, decode_responses=True, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
        )
        cache = RulesCache(RulesStore(client, KEYS), base, {}, 0.0)
        cache.store.put_policy("news", {"review": {"toxicity": 0.3}}, "alice")
        cache.store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")
        loaded = cache.current()
        assert loaded.version == 2

        server.stop()
        for _ in range(3):
            assert cache.current() is loaded
        with pytest.raises(redis.ConnectionError):
            cache.reload()  # an admin's change must fail loudly, not pretend to have reloaded
        assert cache.current() is loaded

        server.start()  # same port and data directory: the rules are still there
        cache.store.put_policy("news", {"review": {"toxicity": 0.35}}, "alice")
        assert eventually(lambda: cache.current().version == 3)
        assert cache.current().policy("news").review["toxicity"] == 0.35
    finally:
        server.stop()
