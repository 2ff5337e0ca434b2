"""Settings as configuration.md §1-§2 reads them: prefixes, fallbacks, types and errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from class_management_service.config import (
    PREFIX,
    Environment,
    LogFormat,
    LogLevel,
    SettingsError,
    load_settings,
)

SECRET = "s3cr3t-Passw0rd"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the test run (services.env) and no developer .env in the way."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(PREFIX) or upper in ("ENVIRONMENT", "HULEEDU_INTERNAL_API_KEY"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_contract_table() -> None:
    settings = load_settings()
    assert settings.environment is Environment.DEVELOPMENT
    assert (settings.http_host, settings.http_port, settings.http_workers) == ("0.0.0.0", 5002, 1)
    assert settings.log_level is LogLevel.INFO
    assert settings.effective_log_format is LogFormat.CONSOLE
    assert settings.health_check_timeout_seconds == 2.0
    assert settings.database_url is None
    assert (settings.db_pool_size, settings.db_max_overflow) == (30, 0)
    assert (settings.db_pool_recycle_seconds, settings.db_pool_pre_ping) == (3600, True)
    assert settings.embedded_database_dir == Path(".run/postgres")
    assert settings.use_mock_repository is False
    assert settings.kafka_bootstrap_servers is None
    assert settings.kafka_consumer_group_id == "class_management_service-consumer-group"
    assert settings.redis_url is None
    assert (settings.notifications_redis_enabled, settings.notifications_kafka_enabled) == (
        True,
        False,
    )
    assert settings.internal_api_key is None
    assert settings.internal_allowed_service_ids == ()
    assert (settings.outbox_batch_size, settings.outbox_max_attempts) == (100, 20)
    assert settings.outbox_health_max_age_seconds == 300
    assert settings.association_confidence_threshold == 0.7
    assert settings.association_monitor_enabled is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("Yes", True),
        ("on", True),
        ("ON", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("NO", False),
        ("off", False),
        ("Off", False),
    ],
)
def test_booleans_accept_the_contract_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    for name in ("USE_MOCK_REPOSITORY", "DB_POOL_PRE_PING", "ASSOCIATION_MONITOR_ENABLED"):
        monkeypatch.setenv(f"{PREFIX}{name}", raw)
    settings = load_settings()
    assert settings.use_mock_repository is expected
    assert settings.db_pool_pre_ping is expected
    assert settings.association_monitor_enabled is expected


@pytest.mark.parametrize("raw", ["y", "t", "n", "f", "2", "maybe", "enabled"])
def test_other_boolean_spellings_are_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(f"{PREFIX}NOTIFICATIONS_KAFKA_ENABLED", raw)
    with pytest.raises(SettingsError, match=f"{PREFIX}NOTIFICATIONS_KAFKA_ENABLED"):
        load_settings()


def test_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("class_management_service_http_port", "6001")
    assert load_settings().http_port == 6001


def test_unprefixed_environment_is_a_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "testing")
    assert load_settings().environment is Environment.TESTING
    monkeypatch.setenv(f"{PREFIX}ENVIRONMENT", "development")
    assert load_settings().environment is Environment.DEVELOPMENT


def test_platform_api_key_is_a_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HULEEDU_INTERNAL_API_KEY", "platform-key")
    key = load_settings().internal_api_key
    assert key is not None
    assert key.get_secret_value() == "platform-key"
    monkeypatch.setenv(f"{PREFIX}INTERNAL_API_KEY", "service-key")
    key = load_settings().internal_api_key
    assert key is not None
    assert key.get_secret_value() == "service-key"


def test_an_empty_prefixed_value_lets_the_fallback_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}INTERNAL_API_KEY", "")
    monkeypatch.setenv("HULEEDU_INTERNAL_API_KEY", "platform-key")
    key = load_settings().internal_api_key
    assert key is not None
    assert key.get_secret_value() == "platform-key"


def test_a_prefixed_value_in_dotenv_wins_over_an_unprefixed_one_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        f"{PREFIX}ENVIRONMENT=testing\n{PREFIX}INTERNAL_API_KEY=from-dotenv\n"
    )
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("HULEEDU_INTERNAL_API_KEY", "platform-key")
    settings = load_settings()
    assert settings.environment is Environment.TESTING
    assert settings.internal_api_key is not None
    assert settings.internal_api_key.get_secret_value() == "from-dotenv"


def test_the_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"{PREFIX}HTTP_PORT=6001\n{PREFIX}LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv(f"{PREFIX}HTTP_PORT", "6002")
    settings = load_settings()
    assert (settings.http_port, settings.log_level) == (6002, LogLevel.DEBUG)


def test_unprefixed_fallbacks_are_read_from_dotenv_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ENVIRONMENT=testing\n")
    assert load_settings().environment is Environment.TESTING


def test_no_other_unprefixed_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "6001")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/x")
    settings = load_settings()
    assert (settings.http_port, settings.database_url) == (5002, None)


@pytest.mark.parametrize(
    "name", ["DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL", "INTERNAL_API_KEY"]
)
def test_an_empty_optional_string_is_unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(f"{PREFIX}{name}", "")
    assert getattr(load_settings(), name.lower()) is None


def test_urls_are_normalised_to_asyncpg(monkeypatch: pytest.MonkeyPatch) -> None:
    for scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        monkeypatch.setenv(f"{PREFIX}DATABASE_URL", f"{scheme}://u:p@db:5432/x")
        url = load_settings().database_url
        assert url is not None
        assert url.get_secret_value() == "postgresql+asyncpg://u:p@db:5432/x"


def test_enum_values_ignore_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}LOG_LEVEL", "warning")
    monkeypatch.setenv(f"{PREFIX}LOG_FORMAT", "JSON")
    monkeypatch.setenv(f"{PREFIX}ENVIRONMENT", "Testing")
    settings = load_settings()
    assert settings.log_level is LogLevel.WARNING
    assert settings.effective_log_format is LogFormat.JSON
    assert settings.environment is Environment.TESTING


def test_json_logs_by_default_when_deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv(f"{PREFIX}DATABASE_URL", "postgresql://u@db/x")
    assert load_settings().effective_log_format is LogFormat.JSON


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({f"{PREFIX}HTTP_PORT": "abc"}, f"{PREFIX}HTTP_PORT"),
        ({f"{PREFIX}HTTP_PORT": "70000"}, f"{PREFIX}HTTP_PORT"),
        ({f"{PREFIX}OUTBOX_BATCH_SIZE": "0"}, f"{PREFIX}OUTBOX_BATCH_SIZE"),
        ({f"{PREFIX}OUTBOX_BATCH_SIZE": "1001"}, f"{PREFIX}OUTBOX_BATCH_SIZE"),
        ({f"{PREFIX}HEALTH_CHECK_TIMEOUT_SECONDS": "0"}, f"{PREFIX}HEALTH_CHECK_TIMEOUT_SECONDS"),
        ({f"{PREFIX}HEALTH_CHECK_TIMEOUT_SECONDS": "inf"}, f"{PREFIX}HEALTH_CHECK_TIMEOUT_SECONDS"),
        ({f"{PREFIX}OUTBOX_POLL_INTERVAL_SECONDS": "nan"}, f"{PREFIX}OUTBOX_POLL_INTERVAL_SECONDS"),
        ({f"{PREFIX}ASSOCIATION_CONFIDENCE_THRESHOLD": "1.5"}, "ASSOCIATION_CONFIDENCE_THRESHOLD"),
        ({f"{PREFIX}LOG_LEVEL": "verbose"}, f"{PREFIX}LOG_LEVEL"),
        ({f"{PREFIX}ENVIRONMENT": "prod"}, f"{PREFIX}ENVIRONMENT"),
        ({"ENVIRONMENT": "prod"}, "configuration: ENVIRONMENT:"),
        ({f"{PREFIX}KAFKA_BOOTSTRAP_SERVERS": "kafka"}, f"{PREFIX}KAFKA_BOOTSTRAP_SERVERS"),
        (
            {
                f"{PREFIX}OUTBOX_BACKOFF_INITIAL_SECONDS": "10",
                f"{PREFIX}OUTBOX_BACKOFF_MAX_SECONDS": "5",
            },
            f"{PREFIX}OUTBOX_BACKOFF_MAX_SECONDS",
        ),
        ({f"{PREFIX}ENVIRONMENT": "staging"}, f"{PREFIX}DATABASE_URL is required in staging"),
        (
            {"ENVIRONMENT": "production", f"{PREFIX}USE_MOCK_REPOSITORY": "on"},
            f"{PREFIX}USE_MOCK_REPOSITORY is forbidden in production",
        ),
        ({f"{PREFIX}HTTP_WORKERS": "2"}, f"{PREFIX}HTTP_WORKERS"),
        (
            {f"{PREFIX}HTTP_WORKERS": "2", f"{PREFIX}USE_MOCK_REPOSITORY": "true"},
            f"{PREFIX}HTTP_WORKERS",
        ),
        ({f"{PREFIX}HTTP_WORKERS": "0"}, f"{PREFIX}HTTP_WORKERS"),
    ],
)
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert named in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", f"mysql://cms:{SECRET}@db:3306/cms"),
        ("DATABASE_URL", f"postgresql://cms:{SECRET}@db:notaport/cms"),
        ("DATABASE_URL", f"postgresql://cms:{SECRET}@db:0/cms"),
        ("REDIS_URL", f"http://:{SECRET}@redis:6379/0"),
        ("REDIS_URL", f"redis://:{SECRET}@redis:99999/0"),
    ],
)
def test_secret_bearing_values_are_never_echoed(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"{PREFIX}{name}", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"{PREFIX}{name}" in message
    assert SECRET not in message
    assert SECRET not in repr(caught.value)


def test_http_workers_with_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}HTTP_WORKERS", "4")
    monkeypatch.setenv(f"{PREFIX}DATABASE_URL", "postgresql://u@db/x")
    assert load_settings().http_workers == 4


def test_allowed_service_ids_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}INTERNAL_ALLOWED_SERVICE_IDS", " nlp_service, ,essay_lifecycle ")
    assert load_settings().internal_allowed_service_ids == ("nlp_service", "essay_lifecycle")
