"""Structured logging: JSON lines in staging/production, readable console output otherwise."""

from __future__ import annotations

import logging
import sys

import structlog

from class_management_service import SERVICE_NAME
from class_management_service.config import LogFormat, Settings


def _add_service_name(
    _logger: object, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    event["service.name"] = SERVICE_NAME
    return event


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelNamesMapping()[settings.log_level.value]
    shared: list[structlog.types.Processor] = [
        # Correlation ids are bound per request/event with structlog.contextvars.
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_service_name,
    ]
    if settings.effective_log_format is LogFormat.JSON:
        renderer: structlog.types.Processor = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, stream=sys.stdout, format="%(levelname)s %(name)s %(message)s")
    # Library chatter (initdb transcripts, Alembic plugin set-up) is noise at INFO.
    for noisy in ("pgserver", "alembic", "aiokafka", "dishka"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
