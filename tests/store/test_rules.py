"""The operator's rules in Redis: versioned site policies, word lists, key site limits and the one version counter.

Workers reload their compiled rules when the counter moves, so every change must raise it, exactly once, in the same
transaction as the rule itself; and a snapshot must hand back exactly what was written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
import redis

from service.keys import Keys
from service.scoring.normalize import normalize
from service.store.rules import RuleConflict, RulesStore, StoredPolicy, StoredWordList
from service.wordlists import WordList, WordListMatcher

STRICT: dict[str, Any] = {
    "review": {"toxicity": 0.3, "insult": 0.35},
    "reject": {"toxicity": 0.6},
    "categories": ["toxicity", "insult"],
    "unsupported_language": "reject",
}


@pytest.fixture
def store(redis_client: redis.Redis, keys: Keys) -> RulesStore:
    return RulesStore(redis_client, keys)


def test_an_empty_store_has_version_zero_and_no_rules(store: RulesStore) -> None:
    snapshot = store.snapshot()
    assert store.version() == snapshot.version == 0
    assert snapshot.policies == {}
    assert snapshot.wordlists == {}
    assert snapshot.key_sites == {}


# --- policies -------------------------------------------------------------------------------------------------


def test_policy_versions_count_up_and_keep_who_changed_them(store: RulesStore) -> None:
    first = store.put_policy("news", {"review": {"toxicity": 0.4}}, "alice")
    second = store.put_policy("news", {"review": {"toxicity": 0.45}}, "bob")
    third = store.put_policy("news", STRICT, "carol")
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert [first.updated_by, second.updated_by, third.updated_by] == ["alice", "bob", "carol"]
    stored = store.snapshot().policies["news"]
    assert stored == third
    assert stored.version == 3
    assert stored.updated_by == "carol"
    assert stored.document == STRICT
    assert stored.updated_at.endswith("Z")


def test_each_site_counts_its_own_policy_versions(store: RulesStore) -> None:
    store.put_policy("news", STRICT, "alice")
    store.put_policy("news", STRICT, "alice")
    assert store.put_policy("forum", STRICT, "alice").version == 1
    assert store.snapshot().policies["news"].version == 2


def test_a_policy_document_comes_back_as_written(store: RulesStore) -> None:
    """The store's own fields (site, version, who, when) are kept beside the document, not mixed into it."""
    stored = store.put_policy("news", STRICT, "alice")
    back = store.snapshot().policies["news"]
    assert back == stored
    assert back.document == STRICT
    assert back.as_json() == {
        "site": "news",
        **STRICT,
        "version": 1,
        "updated_at": stored.updated_at,
        "updated_by": "alice",
    }


def test_concurrent_puts_of_one_site_lose_no_version(redis_client: redis.Redis, keys: Keys) -> None:
    """Two admins saving at once: each save gets its own version, none overwrites another's number."""
    writers, puts = 4, 10
    versions: list[int] = []
    lock = threading.Lock()

    def write(actor: str) -> None:
        store = RulesStore(redis_client, keys)  # each put takes a connection of its own from the pool
        for number in range(puts):
            while True:
                try:  # the caller may retry a conflict, as the admin API's client would
                    stored = store.put_policy("news", {"review": {"toxicity": 0.3 + number / 100}}, actor)
                    break
                except RuleConflict:
                    continue
            with lock:
                versions.append(stored.version)

    threads = [threading.Thread(target=write, args=(f"admin-{n}",)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(versions) == list(range(1, writers * puts + 1))
    store = RulesStore(redis_client, keys)
    assert store.snapshot().policies["news"].version == writers * puts
    assert store.version() == writers * puts


# --- word lists -----------------------------------------------------------------------------------------------


def test_word_list_versions_count_up(store: RulesStore) -> None:
    banned = WordList("banned", "reject", ("idiot",))
    assert store.put_wordlist(banned, "alice").version == 1
    second = store.put_wordlist(banned, "bob")
    assert (second.version, second.updated_by) == (2, "bob")
    assert store.snapshot().wordlists["banned"] == second


def test_a_replaced_word_list_keeps_nothing_of_the_old_one(
    store: RulesStore, redis_client: redis.Redis, keys: Keys
) -> None:
    """A put replaces the list whole: terms, action, sites and language, with no old term left to match."""
    store.put_wordlist(WordList("watch", "reject", ("idiot", "moron", "sheeple"), ("news",), "en"), "alice")
    store.put_wordlist(WordList("watch", "review", ("shill",)), "bob")
    replaced = store.snapshot().wordlists["watch"].wordlist
    assert replaced == WordList("watch", "review", ("shill",), None, None)
    raw = redis_client.hget(keys.wordlists(), "watch")
    assert isinstance(raw, str)
    for old in ("idiot", "moron", "sheeple"):
        assert old not in raw
    matcher = WordListMatcher([replaced])
    assert matcher.matches(normalize("you idiot moron sheeple"), "news", "en") == []
    assert [m.text for m in matcher.matches(normalize("a paid shill"), "forum", "de")] == ["shill"]


def test_a_word_list_comes_back_as_written(store: RulesStore) -> None:
    lists = [
        WordList("banned", "reject", ("idiot", "f*ck", "*cunt*")),
        WordList("suspect", "review", ("sheeple",), ("news", "forum"), "en"),
        WordList("exceptions", "allow", ("scunthorpe",), ("news",)),
    ]
    written = {wordlist.name: store.put_wordlist(wordlist, "alice") for wordlist in lists}
    back = store.snapshot().wordlists
    assert back == written
    assert [back[w.name].wordlist for w in lists] == lists


def test_word_list_json_counts_terms_and_may_leave_them_out(store: RulesStore) -> None:
    stored = store.put_wordlist(WordList("banned", "reject", ("idiot", "moron"), ("news",)), "alice")
    listed = stored.as_json(with_terms=False)
    assert listed["term_count"] == 2
    assert listed["sites"] == ["news"]
    assert "terms" not in listed
    assert stored.as_json()["terms"] == ["idiot", "moron"]


# --- key sites ------------------------------------------------------------------------------------------------


def test_key_sites_are_replaced_whole(store: RulesStore) -> None:
    store.put_key_sites("partner", ("news", "forum"))
    store.put_key_sites("partner", ("kids",))
    store.put_key_sites("other", ("news",))
    assert store.snapshot().key_sites == {"partner": ("kids",), "other": ("news",)}


# --- the version counter, snapshots, deletes ------------------------------------------------------------------


def _changes(store: RulesStore) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("put policy", lambda: store.put_policy("news", STRICT, "alice")),
        ("put policy again", lambda: store.put_policy("news", {"review": {"toxicity": 0.4}}, "bob")),
        ("put word list", lambda: store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")),
        ("replace word list", lambda: store.put_wordlist(WordList("banned", "review", ("moron",)), "bob")),
        ("put key sites", lambda: store.put_key_sites("partner", ("news",))),
        ("replace key sites", lambda: store.put_key_sites("partner", ("forum",))),
        ("delete policy", lambda: store.delete_policy("news")),
        ("delete word list", lambda: store.delete_wordlist("banned")),
        ("delete key sites", lambda: store.delete_key_sites("partner")),
    ]


def test_each_change_raises_the_version_by_one(store: RulesStore) -> None:
    """Every worker reloads when the counter moves: a change that did not raise it would never reach them."""
    for expected, (name, change) in enumerate(_changes(store), start=1):
        change()
        assert store.version() == expected, name
        assert store.snapshot().version == expected, name


def test_a_snapshot_holds_everything_written(store: RulesStore) -> None:
    news = store.put_policy("news", STRICT, "alice")
    forum = store.put_policy("forum", {"categories": ["toxicity"]}, "bob")
    banned = store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")
    suspect = store.put_wordlist(WordList("suspect", "review", ("sheeple",), ("news",), "en"), "alice")
    store.put_key_sites("partner", ("news", "forum"))
    store.put_key_sites("kids-app", ("kids",))
    snapshot = store.snapshot()
    assert snapshot.version == store.version() == 6
    assert snapshot.policies == {"news": news, "forum": forum}
    assert snapshot.wordlists == {"banned": banned, "suspect": suspect}
    assert snapshot.key_sites == {"partner": ("news", "forum"), "kids-app": ("kids",)}


def test_deletes_remove_what_was_there(store: RulesStore) -> None:
    store.put_policy("news", STRICT, "alice")
    store.put_policy("forum", STRICT, "alice")
    store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")
    store.put_key_sites("partner", ("news",))
    assert store.delete_policy("news") is True
    assert store.delete_wordlist("banned") is True
    assert store.delete_key_sites("partner") is True
    snapshot = store.snapshot()
    assert set(snapshot.policies) == {"forum"}
    assert snapshot.wordlists == {}
    assert snapshot.key_sites == {}


@pytest.mark.parametrize(
    "delete",
    [
        lambda store: store.delete_policy("nowhere"),
        lambda store: store.delete_wordlist("nothing"),
        lambda store: store.delete_key_sites("nobody"),
    ],
    ids=["policy", "wordlist", "key-sites"],
)
def test_deleting_something_absent_returns_false(store: RulesStore, delete: Callable[[RulesStore], bool]) -> None:
    store.put_policy("news", STRICT, "alice")
    store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")
    store.put_key_sites("partner", ("news",))
    before = store.snapshot()
    assert delete(store) is False
    after = store.snapshot()
    assert (after.policies, after.wordlists, after.key_sites) == (before.policies, before.wordlists, before.key_sites)


def test_deleting_twice_returns_true_then_false(store: RulesStore) -> None:
    store.put_policy("news", STRICT, "alice")
    assert store.delete_policy("news") is True
    assert store.delete_policy("news") is False


# --- keys -----------------------------------------------------------------------------------------------------


def test_rules_live_under_the_configured_prefix(store: RulesStore, redis_client: redis.Redis, keys: Keys) -> None:
    """Several deployments may share one Redis: every rules key carries this one's prefix, and only these five."""
    store.put_policy("news", STRICT, "alice")
    store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")
    store.put_key_sites("partner", ("news",))
    expected = {keys.rules_version(), keys.rule_versions(), keys.site_policies(), keys.wordlists(), keys.key_sites()}
    assert set(redis_client.keys("*")) == expected
    assert all(key.startswith(keys.prefix) for key in expected)
    assert redis_client.get(keys.rules_version()) == "3"
    assert redis_client.hkeys(keys.site_policies()) == ["news"]
    assert json.loads(redis_client.hget(keys.key_sites(), "partner") or "null") == ["news"]


def test_another_prefix_sees_none_of_these_rules(store: RulesStore, redis_client: redis.Redis) -> None:
    store.put_policy("news", STRICT, "alice")
    other = RulesStore(redis_client, Keys("other:"))
    assert other.version() == 0
    assert other.snapshot().policies == {}
    assert other.put_policy("news", STRICT, "bob").version == 1
    assert store.version() == 1


def test_stored_rules_are_plain_values(store: RulesStore) -> None:
    """What the store returns is frozen: a worker shares one snapshot across its threads."""
    stored = store.put_policy("news", STRICT, "alice")
    assert isinstance(stored, StoredPolicy)
    listed = store.put_wordlist(WordList("banned", "reject", ("idiot",)), "alice")
    assert isinstance(listed, StoredWordList)
    with pytest.raises(AttributeError):
        stored.version = 9  # type: ignore[misc]


def test_a_version_number_never_repeats_and_a_missed_delete_changes_nothing(store: RulesStore) -> None:
    """An API client may watch the number for changes: put, delete, put gives 1 then 2. Deleting what is not
    there leaves the rules version alone, so no worker recompiles its word lists for nothing."""
    assert store.put_policy("news", STRICT, "alice").version == 1
    assert store.delete_policy("news") is True
    assert store.put_policy("news", STRICT, "alice").version == 2
    before = store.version()
    assert store.delete_policy("nowhere") is False
    assert store.delete_wordlist("nothing") is False
    assert store.delete_key_sites("nobody") is False
    assert store.version() == before
