"""Settings: read once from the environment into one typed, frozen object."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

import redis.connection
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.ids import is_id
from service.webhooks import ConfiguredWebhook, parse_webhooks

ToxicityModelName = Literal[
    "embedded",
    "detoxify-original",
    "detoxify-unbiased",
    "detoxify-multilingual",
    "detoxify-original-small",
    "detoxify-unbiased-small",
]


class Role(StrEnum):
    SUBMITTER = "submitter"
    MODERATOR = "moderator"
    ADMIN = "admin"


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: Role
    secret: str

    def __repr__(self) -> str:  # never print a secret by accident
        return f"ApiKey(name={self.name!r}, role={self.role.value!r})"


def parse_api_keys(raw: str) -> tuple[ApiKey, ...]:
    """Parse `name:role:secret,...`; the secret may itself contain colons."""
    keys: list[ApiKey] = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, rest = entry.partition(":")
        role, sep2, secret = rest.partition(":")
        if not (sep and sep2 and name and secret):
            raise ValueError(f"API key entry for {name or '?'!r} is not name:role:secret")
        try:
            keys.append(ApiKey(name=name, role=Role(role), secret=secret))
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise ValueError(f"API key {name!r} has unknown role {role!r} (one of {roles})") from None
    return tuple(keys)


def parse_thresholds(raw: str) -> dict[str, float]:
    """Parse `category=0.5,other=0.8` into a mapping."""
    out: dict[str, float] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        category, sep, value = entry.partition("=")
        if not sep:
            raise ValueError(f"threshold entry {entry!r} is not category=value")
        number = float(value)
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"threshold for {category!r} must lie in [0, 1]")
        out[category.strip()] = number
    return out


def parse_key_sites(raw: str) -> dict[str, tuple[str, ...]]:
    """Parse `keyname=site-a|site-b;other=site-c`: the sites each named API key is limited to."""
    out: dict[str, tuple[str, ...]] = {}
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        name, sep, sites = entry.partition("=")
        listed = tuple(filter(None, (site.strip() for site in sites.split("|"))))
        if not sep or not name.strip() or not listed:
            raise ValueError(f"key sites entry {entry!r} is not keyname=site-a|site-b")
        for site in listed:
            if not is_id(site):
                raise ValueError(f"site {site!r} of key {name.strip()!r} is not an id (letters, digits, . _ : -)")
        out[name.strip()] = listed
    return out


def parse_community_sites(raw: str) -> dict[str, str]:
    """Parse `community=site;other=site`: Perspective community ids (and Coral site ids) mapped to sites."""
    out: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        community, sep, site = entry.rpartition("=")  # a site id has no `=`; a community id (a URL) may
        if not sep or not community.strip() or not is_id(site.strip()):
            raise ValueError(f"community sites entry {entry!r} is not community=site, with the site an id")
        out[community.strip()] = site.strip()
    return out


def check_redis_url(url: str) -> str:
    """Accept what redis-py's `from_url` connects to; never echo the URL, it may hold a password."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        found = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise ValueError(f"must start with redis://, rediss:// or unix:// (this one has {found})")
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError("a unix:// URL needs the socket path, e.g. unix:///run/redis.sock?db=0")
    else:
        if not parts.hostname:
            raise ValueError(f"a {parts.scheme}:// URL needs a host, e.g. {parts.scheme}://127.0.0.1:6379/0")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
        except ValueError:
            raise ValueError("the port must be a number from 1 to 65535") from None
        # redis-py silently falls back to db 0 on a path that is not a number.
        database = unquote(parts.path).replace("/", "")
        if database and not database.isdigit():
            raise ValueError(f"the database after the host must be a number, not {database!r}")
    try:
        redis.connection.parse_url(url)  # type: ignore[no-untyped-call]  # query arguments: ?db=, ?socket_timeout=
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return url


def check_rate_limit(value: str) -> str:
    """A limit the `limits` library reads, such as `600/minute` or `10/second;500/hour`."""
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a rate limit such as 600/minute or 10/second;500/hour") from None
    return value


def describe_error(exc: ValidationError) -> str:
    """One line naming the first bad variable, for start-up failures."""
    first = exc.errors()[0]
    where = first["loc"][0] if first["loc"] else "settings"
    return f"configuration error in {where}: {first['msg'].removeprefix('Value error, ')}"


def generate_dev_keys() -> tuple[ApiKey, ...]:
    return tuple(ApiKey(name=f"dev-{role.value}", role=role, secret=secrets.token_urlsafe(24)) for role in Role)


class Settings(BaseSettings):
    """Everything the service reads from its environment, validated at start-up."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    redis_key_prefix: str = Field(default="mod:", validation_alias="REDIS_KEY_PREFIX")
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=10, validation_alias="REDIS_TIMEOUT_SECONDS")
    port: int = Field(default=8000, ge=1, le=65535, validation_alias="PORT")

    api_keys: Annotated[tuple[ApiKey, ...], NoDecode] = Field(default=(), validation_alias="MODERATION_API_KEYS")

    toxicity_model: ToxicityModelName = Field(default="embedded", validation_alias="MODERATION_TOXICITY_MODEL")
    detoxify_checkpoint: Path | None = Field(default=None, validation_alias="DETOXIFY_CHECKPOINT")
    detoxify_hf_config: Path | None = Field(default=None, validation_alias="DETOXIFY_HF_CONFIG")
    conspiracy_model_path: Path | None = Field(default=None, validation_alias="MODERATION_CONSPIRACY_MODEL")
    toxicity_head_path: Path | None = Field(default=None, validation_alias="MODERATION_TOXICITY_HEAD")

    # The sites each API key may submit to, read and decide; a key not named here may use every site.
    key_sites: Annotated[dict[str, tuple[str, ...]], NoDecode] = Field(
        default_factory=dict, validation_alias="MODERATION_KEY_SITES"
    )
    # Perspective `communityId` (and Coral `site.id`) -> site; one not named maps to itself, cleaned to an id.
    community_sites: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, validation_alias="MODERATION_COMMUNITY_SITES"
    )
    # How often a worker checks Redis for changed site policies, word lists and key sites.
    rules_refresh_seconds: float = Field(default=1.0, ge=0, le=60, validation_alias="MODERATION_RULES_REFRESH_SECONDS")

    policy_file: Path | None = Field(default=None, validation_alias="MODERATION_POLICY_FILE")
    review_thresholds: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict, validation_alias="MODERATION_REVIEW_THRESHOLDS"
    )
    reject_thresholds: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict, validation_alias="MODERATION_REJECT_THRESHOLDS"
    )

    # The language of a comment too short for detection to place; empty: such comments are undetermined.
    default_language: str = Field(
        default="en", pattern=r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*)?$", validation_alias="MODERATION_DEFAULT_LANGUAGE"
    )
    # The decision, at least, for a comment in a language no model supports; unset: the policy file's, else review.
    unsupported_language: Literal["allow", "review", "reject"] | None = Field(
        default=None, validation_alias="MODERATION_UNSUPPORTED_LANGUAGE"
    )
    # Requests per API key, e.g. `600/minute`, counted in Redis across workers; unset: no limit.
    rate_limit: str | None = Field(default=None, validation_alias="MODERATION_RATE_LIMIT")
    # The URL clients reach the service at (behind a proxy); the Perspective discovery document names it.
    public_url: str | None = Field(default=None, validation_alias="MODERATION_PUBLIC_URL")

    batch_max_size: int = Field(default=32, ge=1, le=1024, validation_alias="MODERATION_BATCH_MAX_SIZE")
    batch_max_wait_ms: float = Field(default=2.0, ge=0, le=1000, validation_alias="MODERATION_BATCH_MAX_WAIT_MS")
    # Longest a request waits for its batch before a 503: a model call that never returns must not hang requests.
    scoring_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, validation_alias="MODERATION_SCORING_TIMEOUT_SECONDS"
    )

    cache_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1, validation_alias="MODERATION_CACHE_TTL_SECONDS")
    # Verdicts each worker keeps in memory in front of Redis; 0 turns the memory layer off.
    local_cache_size: int = Field(default=4096, ge=0, le=1_000_000, validation_alias="MODERATION_LOCAL_CACHE_SIZE")
    # Coral Talk's external moderation phase: its signing secrets (several during a rotation), the status a held
    # comment gets there, and whether held and rejected comments are also copied into our queue.
    coral_secrets: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(), validation_alias="MODERATION_CORAL_SECRETS"
    )
    coral_hold_status: Literal["SYSTEM_WITHHELD", "PREMOD"] = Field(
        default="SYSTEM_WITHHELD", validation_alias="MODERATION_CORAL_HOLD_STATUS"
    )
    coral_queue_copy: bool = Field(default=False, validation_alias="MODERATION_CORAL_QUEUE_COPY")
    # Retention: decided comments, feedback labels and audit texts older than this many days are removed by the
    # worker (`moderation worker`), which looks every `worker_interval_seconds`. Unset: kept until erased.
    retention_days: int | None = Field(default=None, ge=1, le=3650, validation_alias="MODERATION_RETENTION_DAYS")
    worker_interval_seconds: float = Field(
        default=3600.0, gt=0, le=86_400, validation_alias="MODERATION_WORKER_INTERVAL_SECONDS"
    )
    # Webhooks (docs/webhooks.md): the configured receivers, and how the worker delivers to each: a request's
    # timeout, the first retry's delay (doubled each time, at most an hour), and how long it retries before the
    # event goes to the dead letters.
    webhooks: Annotated[tuple[ConfiguredWebhook, ...], NoDecode] = Field(
        default=(), validation_alias="MODERATION_WEBHOOKS"
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, validation_alias="MODERATION_WEBHOOK_TIMEOUT_SECONDS"
    )
    webhook_retry_seconds: float = Field(
        default=10.0, gt=0, le=3600, validation_alias="MODERATION_WEBHOOK_RETRY_SECONDS"
    )
    webhook_give_up_seconds: float = Field(
        default=86_400.0, gt=0, le=7 * 86_400, validation_alias="MODERATION_WEBHOOK_GIVE_UP_SECONDS"
    )
    # A moderator's claim on a queue item lasts this long unless renewed; a decision may be reopened this long after.
    claim_seconds: int = Field(default=300, ge=30, le=3600, validation_alias="MODERATION_CLAIM_SECONDS")
    undo_seconds: int = Field(default=300, ge=0, le=86_400, validation_alias="MODERATION_UNDO_SECONDS")
    max_text_chars: int = Field(default=10_000, ge=1, le=1_000_000, validation_alias="MODERATION_MAX_TEXT_CHARS")
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, validation_alias="MODERATION_MAX_BODY_BYTES")

    @field_validator("rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str | None) -> str | None:
        return check_rate_limit(value) if value else None

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, e.g. https://moderation.example.org")
        return value.rstrip("/") + "/"

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        return check_redis_url(value)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        return parse_api_keys(value) if isinstance(value, str) else value

    @field_validator("coral_secrets", mode="before")
    @classmethod
    def _split_coral_secrets(cls, value: object) -> object:
        return tuple(s.strip() for s in value.split(",") if s.strip()) if isinstance(value, str) else value

    @field_validator("webhooks", mode="before")
    @classmethod
    def _parse_webhooks(cls, value: object) -> object:
        return parse_webhooks(value) if isinstance(value, str) else value

    @field_validator("key_sites", mode="before")
    @classmethod
    def _split_key_sites(cls, value: object) -> object:
        return parse_key_sites(value) if isinstance(value, str) else value

    @field_validator("community_sites", mode="before")
    @classmethod
    def _split_community_sites(cls, value: object) -> object:
        return parse_community_sites(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known_key_names(self) -> Settings:
        unknown = sorted(set(self.key_sites) - {key.name for key in self.api_keys})
        if unknown and self.api_keys:
            raise ValueError(f"MODERATION_KEY_SITES names keys that MODERATION_API_KEYS does not: {', '.join(unknown)}")
        return self

    @field_validator("review_thresholds", "reject_thresholds", mode="before")
    @classmethod
    def _split_thresholds(cls, value: object) -> object:
        return parse_thresholds(value) if isinstance(value, str) else value
