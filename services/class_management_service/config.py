"""Service settings: every ``CLASS_MANAGEMENT_SERVICE_*`` variable of the configuration contract."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "CLASS_MANAGEMENT_SERVICE_"


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_file=".env",
        case_sensitive=False,
        extra="ignore",
        env_ignore_empty=True,
        populate_by_name=True,
    )

    # General
    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        validation_alias=AliasChoices(f"{PREFIX}ENVIRONMENT", "ENVIRONMENT"),
    )
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=5002, ge=1, le=65535)
    http_workers: int = Field(default=1, ge=1, le=64)
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat | None = None
    health_check_timeout_seconds: float = Field(default=2.0, gt=0)

    # PostgreSQL
    database_url: SecretStr | None = None
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_recycle_seconds: int = Field(default=3600, ge=0)
    db_pool_pre_ping: bool = True
    embedded_database_dir: Path = Path(".run/postgres")
    use_mock_repository: bool = False

    # Kafka
    kafka_bootstrap_servers: str | None = None
    kafka_consumer_group_id: str = "class_management_service-consumer-group"
    consumer_retry_initial_seconds: float = Field(default=1.0, gt=0)
    consumer_retry_max_seconds: float = Field(default=60.0, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)

    # Redis and notifications
    redis_url: SecretStr | None = None
    notifications_redis_enabled: bool = True
    notifications_kafka_enabled: bool = False

    # Internal authentication
    internal_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(f"{PREFIX}INTERNAL_API_KEY", "HULEEDU_INTERNAL_API_KEY"),
    )
    internal_allowed_service_ids: Annotated[tuple[str, ...], NoDecode] = ()

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
    association_monitor_enabled: bool = True

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
                return SecretStr("postgresql+asyncpg://" + raw[len(accepted) :])
        raise ValueError("must be a postgresql:// or postgresql+asyncpg:// URL")

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL")
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


class SettingsError(Exception):
    """Invalid configuration; the message names variables and never contains their values."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            location = error.get("loc") or ()
            name = str(location[0]).upper() if location else ""
            variable = name if name.startswith(PREFIX) or not name else f"{PREFIX}{name}"
            message = error.get("msg", "invalid value")
            problems.append(f"{variable}: {message}" if variable else message)
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
