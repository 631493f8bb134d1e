"""Settings and the parsers behind them."""

from __future__ import annotations

import json

import pytest
import redis
from pydantic import ValidationError

from service.config import (
    ApiKey,
    Role,
    Settings,
    describe_error,
    generate_dev_keys,
    parse_api_keys,
    parse_thresholds,
)
from service.store.connection import connect
from service.webhooks import configured_name

SETTINGS_ENV = (
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "REDIS_TIMEOUT_SECONDS",
    "PORT",
    "MODERATION_API_KEYS",
    "MODERATION_TOXICITY_MODEL",
    "DETOXIFY_CHECKPOINT",
    "DETOXIFY_HF_CONFIG",
    "MODERATION_CONSPIRACY_MODEL",
    "MODERATION_POLICY_FILE",
    "MODERATION_REVIEW_THRESHOLDS",
    "MODERATION_REJECT_THRESHOLDS",
    "MODERATION_CACHE_TTL_SECONDS",
    "MODERATION_LOCAL_CACHE_SIZE",
    "MODERATION_MAX_TEXT_CHARS",
    "MODERATION_MAX_BODY_BYTES",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)


# --- parse_api_keys -------------------------------------------------------------------------------------------


def test_parse_api_keys_reads_every_entry() -> None:
    keys = parse_api_keys("site:submitter:s1, mod-ann:moderator:s2 ,root:admin:s3")
    assert keys == (
        ApiKey(name="site", role=Role.SUBMITTER, secret="s1"),
        ApiKey(name="mod-ann", role=Role.MODERATOR, secret="s2"),
        ApiKey(name="root", role=Role.ADMIN, secret="s3"),
    )


def test_parse_api_keys_secret_may_contain_colons() -> None:
    (key,) = parse_api_keys("root:admin:abc:def::ghi")
    assert key.name == "root"
    assert key.role is Role.ADMIN
    assert key.secret == "abc:def::ghi"


@pytest.mark.parametrize("raw", ["", " ", ",", " , ,"])
def test_parse_api_keys_empty_input(raw: str) -> None:
    assert parse_api_keys(raw) == ()


def test_parse_api_keys_ignores_empty_entries() -> None:
    assert len(parse_api_keys("a:admin:x,,b:moderator:y,")) == 2


@pytest.mark.parametrize("raw", ["ops:superuser:secret", "ops:Admin:secret", "ops::secret"])
def test_parse_api_keys_rejects_unknown_roles(raw: str) -> None:
    with pytest.raises(ValueError, match="role"):
        parse_api_keys(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "just-a-name",
        "name:admin",
        "name:admin:",
        ":admin:secret",
        "good:admin:secret,broken",
    ],
)
def test_parse_api_keys_rejects_malformed_entries(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_api_keys(raw)


def test_settings_parse_api_keys_from_the_environment_string() -> None:
    settings = Settings.model_validate({"MODERATION_API_KEYS": "site:submitter:a:b,root:admin:c"})
    assert [(k.name, k.role, k.secret) for k in settings.api_keys] == [
        ("site", Role.SUBMITTER, "a:b"),
        ("root", Role.ADMIN, "c"),
    ]


def test_settings_reject_a_bad_api_key_entry() -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"MODERATION_API_KEYS": "site:nobody:secret"})


# --- parse_thresholds -----------------------------------------------------------------------------------------


def test_parse_thresholds() -> None:
    assert parse_thresholds("toxicity=0.5, conspiracy = 0.8 ,insult=1,threat=0") == {
        "toxicity": 0.5,
        "conspiracy": 0.8,
        "insult": 1.0,
        "threat": 0.0,
    }
    assert parse_thresholds("") == {}


@pytest.mark.parametrize("raw", ["toxicity=1.01", "toxicity=-0.1", "toxicity=2", "toxicity=nan", "toxicity=inf"])
def test_parse_thresholds_rejects_out_of_range(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_thresholds(raw)


@pytest.mark.parametrize("raw", ["toxicity", "toxicity:0.5", "toxicity=high"])
def test_parse_thresholds_rejects_malformed(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_thresholds(raw)


def test_settings_thresholds_from_strings_and_mappings() -> None:
    settings = Settings.model_validate(
        {"MODERATION_REVIEW_THRESHOLDS": "toxicity=0.4", "MODERATION_REJECT_THRESHOLDS": {"toxicity": 0.7}}
    )
    assert settings.review_thresholds == {"toxicity": 0.4}
    assert settings.reject_thresholds == {"toxicity": 0.7}
    with pytest.raises(ValidationError):
        Settings.model_validate({"MODERATION_REJECT_THRESHOLDS": "toxicity=1.2"})


# --- Settings -------------------------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = Settings.model_validate({})
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.redis_key_prefix == "mod:"
    assert settings.redis_timeout_seconds == 0.5
    assert settings.port == 8000
    assert settings.api_keys == ()
    assert settings.toxicity_model == "embedded"
    assert settings.detoxify_checkpoint is None
    assert settings.detoxify_hf_config is None
    assert settings.conspiracy_model_path is None
    assert settings.policy_file is None
    assert settings.review_thresholds == {}
    assert settings.reject_thresholds == {}
    assert settings.cache_ttl_seconds == 7 * 24 * 3600
    assert settings.local_cache_size == 4096
    assert settings.max_text_chars == 10_000
    assert settings.max_body_bytes == 256 * 1024


def test_settings_read_aliases_and_ignore_extras() -> None:
    settings = Settings.model_validate(
        {"REDIS_URL": "redis://example:6380/2", "PORT": "9000", "REDIS_KEY_PREFIX": "x:", "UNRELATED": "1"}
    )
    assert settings.redis_url == "redis://example:6380/2"
    assert settings.port == 9000
    assert settings.redis_key_prefix == "x:"


def test_the_memory_layer_of_the_verdict_cache_can_be_turned_off() -> None:
    assert Settings.model_validate({"MODERATION_LOCAL_CACHE_SIZE": "0"}).local_cache_size == 0


def test_settings_read_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODERATION_CACHE_TTL_SECONDS", "60")
    assert Settings.model_validate({}).cache_ttl_seconds == 60


@pytest.mark.parametrize(
    "overrides",
    [
        {"PORT": "0"},
        {"PORT": "70000"},
        {"REDIS_TIMEOUT_SECONDS": "0"},
        {"REDIS_TIMEOUT_SECONDS": "11"},
        {"MODERATION_CACHE_TTL_SECONDS": "0"},
        {"MODERATION_LOCAL_CACHE_SIZE": "-1"},
        {"MODERATION_MAX_TEXT_CHARS": "0"},
        {"MODERATION_MAX_BODY_BYTES": "100"},
        {"MODERATION_TOXICITY_MODEL": "gpt"},
        {"MODERATION_RATE_LIMIT": "lots"},
        {"MODERATION_RATE_LIMIT": "600 per fortnight"},
        {"MODERATION_DEFAULT_LANGUAGE": "english please"},
        {"MODERATION_UNSUPPORTED_LANGUAGE": "ignore"},
        {"MODERATION_PUBLIC_URL": "moderation.example.org"},
    ],
)
def test_settings_reject_invalid_values(overrides: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate(overrides)


def test_settings_for_the_perspective_front_door() -> None:
    settings = Settings.model_validate(
        {
            "MODERATION_RATE_LIMIT": "10/second;600/minute",
            "MODERATION_DEFAULT_LANGUAGE": "pt-BR",
            "MODERATION_UNSUPPORTED_LANGUAGE": "reject",
            "MODERATION_PUBLIC_URL": "https://moderation.example.org/perspective",
        }
    )
    assert settings.rate_limit == "10/second;600/minute"
    assert settings.default_language == "pt-BR"
    assert settings.unsupported_language == "reject"
    assert settings.public_url == "https://moderation.example.org/perspective/"
    unset = Settings.model_validate({"MODERATION_RATE_LIMIT": "", "MODERATION_DEFAULT_LANGUAGE": ""})
    assert unset.rate_limit is None
    assert unset.default_language == ""


# --- REDIS_URL ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://x", "redis://, rediss:// or unix://"),
        ("localhost:6379", "redis://, rediss:// or unix://"),
        ("", "no scheme"),
        ("redis://", "needs a host"),
        ("redis://cache:port/0", "port"),
        ("redis://cache:6379/zero", "database"),
        ("unix://", "socket path"),
        ("redis://cache:6379/0?socket_timeout=soon", "socket_timeout"),
    ],
)
def test_settings_reject_a_redis_url_the_service_cannot_use(url: str, complaint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"REDIS_URL": url})
    line = describe_error(caught.value)
    assert line.startswith("configuration error in REDIS_URL: ")
    assert complaint in line
    assert "\n" not in line


def test_a_bad_redis_url_error_does_not_echo_the_password() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"REDIS_URL": "http://user:hunter2@cache:6379/0"})
    assert "hunter2" not in describe_error(caught.value)


def test_a_tls_url_with_user_password_port_and_db_reaches_the_connection() -> None:
    client = connect(Settings.model_validate({"REDIS_URL": "rediss://user:pass@host:6380/2"}))
    pool = client.connection_pool
    assert pool.connection_class.__bases__ == (redis.SSLConnection,)  # with kernel timeouts added
    assert {k: pool.connection_kwargs[k] for k in ("host", "port", "db", "username", "password")} == {
        "host": "host",
        "port": 6380,
        "db": 2,
        "username": "user",
        "password": "pass",
    }


def test_a_password_only_url_with_a_db_reaches_the_connection() -> None:
    """The password is percent-decoded; no username means Redis's default user (AUTH password)."""
    client = connect(Settings.model_validate({"REDIS_URL": "redis://:s%40cret@cache.internal:6379/5"}))
    pool = client.connection_pool
    assert pool.connection_class.__bases__ == (redis.Connection,)  # with kernel timeouts added
    assert pool.connection_kwargs["password"] == "s@cret"
    assert pool.connection_kwargs.get("username") is None
    assert (pool.connection_kwargs["host"], pool.connection_kwargs["port"], pool.connection_kwargs["db"]) == (
        "cache.internal",
        6379,
        5,
    )


def test_a_unix_socket_url_with_a_db_reaches_the_connection() -> None:
    client = connect(Settings.model_validate({"REDIS_URL": "unix:///run/redis/redis.sock?db=3"}))
    pool = client.connection_pool
    assert pool.connection_class.__bases__ == (redis.UnixDomainSocketConnection,)  # with kernel timeouts added
    assert (pool.connection_kwargs["path"], pool.connection_kwargs["db"]) == ("/run/redis/redis.sock", 3)


def test_settings_are_frozen() -> None:
    settings = Settings.model_validate({})
    with pytest.raises(ValidationError):
        settings.port = 1234  # type: ignore[misc]


# --- dev keys and ApiKey --------------------------------------------------------------------------------------


def test_generate_dev_keys_gives_one_key_per_role() -> None:
    keys = generate_dev_keys()
    assert sorted(k.role for k in keys) == sorted(Role)
    assert len({k.name for k in keys}) == len(keys)
    assert len({k.secret for k in keys}) == len(keys)
    assert all(len(k.secret) >= 24 for k in keys)


def test_generate_dev_keys_are_fresh_each_time() -> None:
    first = {k.secret for k in generate_dev_keys()}
    second = {k.secret for k in generate_dev_keys()}
    assert not first & second


def test_api_key_repr_hides_the_secret() -> None:
    key = ApiKey(name="root", role=Role.ADMIN, secret="super-secret-value")
    for text in (repr(key), str(key), f"{key}", repr([key]), repr((key,))):
        assert "super-secret-value" not in text
        assert "root" in text
    settings = Settings.model_validate({"MODERATION_API_KEYS": "root:admin:super-secret-value"})
    assert "super-secret-value" not in repr(settings.api_keys)


def test_webhooks_from_the_environment_get_stable_names() -> None:
    raw = json.dumps(
        [
            {"url": "https://a.example/in", "secret": "s" * 16, "events": ["comment.held"]},
            {"name": "desk", "url": "http://b.example/in", "secret": "t" * 16, "events": ["comment.decided"]},
        ]
    )
    hooks = Settings.model_validate({"MODERATION_WEBHOOKS": raw}).webhooks
    assert [configured_name(h) for h in hooks] == [configured_name(hooks[0]), "desk"]
    assert configured_name(hooks[0]).startswith("env-")
    assert configured_name(Settings.model_validate({"MODERATION_WEBHOOKS": raw}).webhooks[0]) == configured_name(
        hooks[0]
    )
    assert "s" * 16 not in repr(hooks)


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("[{", "is not JSON"),
        ('{"url": "https://a.example"}', "must be a JSON list"),
        ('[{"url": "ftp://a.example", "secret": "ssssssssssssssss", "events": ["comment.held"]}]', "http"),
        ('[{"url": "https://a.example", "secret": "ssssssssssssssss", "events": ["comment.gone"]}]', "comment.gone"),
        (
            '[{"url": "https://a.example", "secret": "ssssssssssssssss", "events": ["comment.held"]},'
            ' {"url": "https://a.example", "secret": "tttttttttttttttt", "events": ["comment.held"]}]',
            "two webhooks",
        ),
    ],
)
def test_settings_reject_bad_webhooks(raw: str, complaint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"MODERATION_WEBHOOKS": raw})
    line = describe_error(caught.value)
    assert line.startswith("configuration error in MODERATION_WEBHOOKS") and complaint in line
    assert "ssssssssssssssss" not in line
