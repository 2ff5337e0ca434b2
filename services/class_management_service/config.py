"""Service settings: every ``CLASS_MANAGEMENT_SERVICE_*`` variable of the configuration contract."""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PREFIX = "CLASS_MANAGEMENT_SERVICE_"
ENV_FILE = ".env"
# The only unprefixed variables read (configuration.md §1), each the fallback of one setting.
PLATFORM_FALLBACKS = {"environment": "ENVIRONMENT", "internal_api_key": "HULEEDU_INTERNAL_API_KEY"}

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _parse_flag(value: object) -> object:
    """Exactly the contract's spellings; pydantic alone would also take ``t``, ``y``, ``f``..."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("must be one of true/false, 1/0, yes/no, on/off")


Flag = Annotated[bool, BeforeValidator(_parse_flag)]


class Environment(StrEnum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"
    TESTING = "testing"

    @property
    def is_deployed(self) -> bool:
        return self in (Environment.STAGING, Environment.PRODUCTION)


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class _PlatformFallbacks(PydanticBaseSettingsSource):
    """The unprefixed ``ENVIRONMENT`` and ``HULEEDU_INTERNAL_API_KEY``, below every prefixed source.

    A separate, lowest-priority source (rather than a field alias) so that a prefixed value in
    ``.env`` still wins over an unprefixed one in the process environment.
    """

    def __init__(self, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        # Already read (lower-cased names, empty values dropped) by the env and .env sources.
        self._variables = [s.env_vars for s in sources if isinstance(s, EnvSettingsSource)]

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ answers for all fields at once

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, variable in PLATFORM_FALLBACKS.items():
            for variables in self._variables:
                if value := variables.get(variable.lower()):
                    values[field_name] = value
                    break
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_file=ENV_FILE,
        case_sensitive=False,
        extra="ignore",
        env_ignore_empty=True,
        populate_by_name=True,
        # "inf" or "nan" would pass "> 0" checks and then stall a loop or a timeout forever.
        allow_inf_nan=False,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No secrets directory: the contract reads the environment and .env only.
        fallbacks = _PlatformFallbacks(settings_cls, env_settings, dotenv_settings)
        return init_settings, env_settings, dotenv_settings, fallbacks

    # General
    environment: Environment = Environment.DEVELOPMENT
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=5002, ge=1, le=65535)
    # Not in the contract: serving processes behind one socket (supervisor.py); needs DATABASE_URL.
    http_workers: int = Field(default=1, ge=1, le=64)
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat | None = None
    health_check_timeout_seconds: float = Field(default=2.0, gt=0)

    # PostgreSQL
    database_url: SecretStr | None = None
    # The same 30 connections at most as the contract's first 10 + 20, but all kept: SQLAlchemy
    # closes an overflow connection when it is returned, so a load above the pool size opened and
    # closed a PostgreSQL backend per request (188 in 20 s of get_class at concurrency 50).
    db_pool_size: int = Field(default=30, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_recycle_seconds: int = Field(default=3600, ge=0)
    db_pool_pre_ping: Flag = True
    # A partitioned or stalled server must not hang a request: each wait has its own bound.
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_command_timeout_seconds: float = Field(default=10.0, gt=0)
    embedded_database_dir: Path = Path(".run/postgres")
    use_mock_repository: Flag = False

    # Kafka
    kafka_bootstrap_servers: str | None = None
    kafka_consumer_group_id: str = "class_management_service-consumer-group"
    consumer_retry_initial_seconds: float = Field(default=1.0, gt=0)
    consumer_retry_max_seconds: float = Field(default=60.0, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)

    # Redis and notifications
    redis_url: SecretStr | None = None
    notifications_redis_enabled: Flag = True
    notifications_kafka_enabled: Flag = False

    # Internal authentication
    internal_api_key: SecretStr | None = None
    internal_allowed_service_ids: Annotated[tuple[str, ...], NoDecode] = ()
    roster_require_service_credentials: Flag = False

    # Outbox relay and housekeeping
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)
    outbox_poll_interval_seconds: float = Field(default=5.0, gt=0)
    outbox_max_attempts: int = Field(default=20, ge=1)
    outbox_backoff_initial_seconds: float = Field(default=1.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=300.0, gt=0)
    outbox_health_max_age_seconds: float = Field(default=300, gt=0)
    outbox_retention_hours: float = Field(default=168, gt=0)
    inbox_retention_hours: float = Field(default=720, gt=0)
    housekeeping_interval_seconds: float = Field(default=3600, gt=0)

    # Association timeout monitor
    association_timeout_hours: float = Field(default=24, gt=0)
    association_confidence_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    association_check_interval_seconds: float = Field(default=3600, gt=0)
    association_monitor_enabled: Flag = True

    @field_validator("environment", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("internal_allowed_service_ids", mode="before")
    @classmethod
    def _split_service_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str | None) -> str | None:
        if value is None:
            return None
        servers = [item.strip() for item in value.split(",") if item.strip()]
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ValueError("must be host:port[,host:port...]")
        return ",".join(servers) or None

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        for accepted in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if raw.startswith(accepted):
                normalised = "postgresql+asyncpg://" + raw[len(accepted) :]
                _check_port(normalised)
                return SecretStr(normalised)
        raise ValueError("must be a postgresql:// or postgresql+asyncpg:// URL")

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            if not value.get_secret_value().startswith(("redis://", "rediss://")):
                raise ValueError("must be a redis:// or rediss:// URL")
            _check_port(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> Self:
        if self.consumer_retry_max_seconds < self.consumer_retry_initial_seconds:
            raise ValueError(
                f"{PREFIX}CONSUMER_RETRY_MAX_SECONDS must be >= CONSUMER_RETRY_INITIAL_SECONDS"
            )
        if self.outbox_backoff_max_seconds < self.outbox_backoff_initial_seconds:
            raise ValueError(
                f"{PREFIX}OUTBOX_BACKOFF_MAX_SECONDS must be >= OUTBOX_BACKOFF_INITIAL_SECONDS"
            )
        if self.environment.is_deployed and self.use_mock_repository:
            raise ValueError(f"{PREFIX}USE_MOCK_REPOSITORY is forbidden in {self.environment}")
        if (
            self.environment.is_deployed
            and not self.use_mock_repository
            and self.database_url is None
        ):
            raise ValueError(f"{PREFIX}DATABASE_URL is required in {self.environment}")
        if self.http_workers > 1 and (self.use_mock_repository or self.database_url is None):
            # Each process would get its own in-memory store or embedded server.
            raise ValueError(
                f"{PREFIX}HTTP_WORKERS above 1 needs {PREFIX}DATABASE_URL "
                "(not the embedded database or USE_MOCK_REPOSITORY)"
            )
        return self

    @property
    def effective_log_format(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return LogFormat.JSON if self.environment.is_deployed else LogFormat.CONSOLE

    @property
    def kafka_enabled(self) -> bool:
        return self.kafka_bootstrap_servers is not None

    @property
    def redis_enabled(self) -> bool:
        return self.redis_url is not None


def _check_port(url: str) -> None:
    """Reject a malformed port now rather than as a traceback at the first connection.

    The message never quotes the URL: it may carry a password."""
    try:
        port = urlsplit(url).port
    except ValueError:
        raise ValueError("has an invalid port") from None
    if port == 0:
        raise ValueError("has an invalid port")


class SettingsError(Exception):
    """Invalid configuration; the message names variables and never contains their values."""


def _is_set(variable: str, env_file: object) -> bool:
    """Whether ``variable`` has a non-empty value in the environment or the .env file."""

    def lookup(values: Mapping[str, str | None]) -> bool:
        return any(k.upper() == variable and v for k, v in values.items())

    if lookup(os.environ):
        return True
    return (
        isinstance(env_file, str | Path)
        and Path(env_file).is_file()
        and lookup(dotenv_values(env_file))
    )


def _variable_name(field_name: str, env_file: object) -> str:
    """The variable a field's value came from: the prefixed one unless only the fallback is set."""
    prefixed = f"{PREFIX}{field_name.upper()}"
    fallback = PLATFORM_FALLBACKS.get(field_name)
    if fallback and not _is_set(prefixed, env_file) and _is_set(fallback, env_file):
        return fallback
    return prefixed


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        env_file = overrides.get("_env_file", ENV_FILE)
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            location = error.get("loc") or ()
            # Model-level checks (combinations) name their variables in the message.
            variable = _variable_name(str(location[0]), env_file) if location else ""
            message = error.get("msg", "invalid value").removeprefix("Value error, ")
            problems.append(f"{variable}: {message}" if variable else message)
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
