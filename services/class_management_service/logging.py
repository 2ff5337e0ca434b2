"""Structured logging: JSON lines in staging/production, readable console output otherwise."""

from __future__ import annotations

import logging
import os
import sys

import structlog

from class_management_service import SERVICE_NAME
from class_management_service.config import LogFormat, Settings
from huleedu_service_libs.repeated_records import RepeatedRecordFilter


def _add_service_name(
    _logger: object, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    event["service.name"] = SERVICE_NAME
    return event


def _add_pid(
    _logger: object, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    event["pid"] = os.getpid()
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
    if settings.http_workers > 1:
        # Several serving processes share stdout (supervisor.py): say which one wrote a line.
        shared.append(_add_pid)
    if settings.effective_log_format is LogFormat.JSON:
        renderer: structlog.types.Processor = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        # Colours only for a terminal: escape codes in a redirected log file are noise.
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    # Library records (uvicorn, asyncio, SQLAlchemy, aiokafka) go through the same processors,
    # so stdout stays one JSON object per line in production.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(allow=("repeated",)),
                *shared,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    # A library that logs the same warning on every retry (aiokafka while a broker is down)
    # gets one line per cause per minute, with the count of what was folded.
    handler.addFilter(RepeatedRecordFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # Library chatter (initdb transcripts, Alembic plugin set-up) is noise at INFO.
    for noisy in ("pgserver", "alembic", "aiokafka", "dishka"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
