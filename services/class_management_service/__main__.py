"""Operator CLI: ``python -m class_management_service serve [--reload] | migrate | outbox ...``."""

from __future__ import annotations

import argparse
import asyncio
import sys

import structlog

from class_management_service.config import Settings, SettingsError, load_settings
from class_management_service.logging import configure_logging

logger = structlog.get_logger("class_management_service")


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from class_management_service.implementations.postgres.embedded import resolve_database_url
    from class_management_service.implementations.postgres.migrations import migrate_database
    from class_management_service.implementations.postgres.takeover import (
        TakeoverError,
        TakeoverOptions,
    )

    if settings.use_mock_repository:
        if args.before_serve:
            # `make run` migrates whatever database the service will use; here there is none.
            print("USE_MOCK_REPOSITORY is set: the in-memory store has no schema to migrate")
            return 0
        raise SystemExit("USE_MOCK_REPOSITORY is set: the in-memory store has no schema")
    options = TakeoverOptions(
        old_timezone=args.old_timezone,
        lowercase_collisions=args.lowercase_collisions,
        dry_run=args.dry_run,
    )
    url, embedded = await resolve_database_url(settings)
    try:
        lines = await migrate_database(url, options, convert_previous=not args.before_serve)
    except TakeoverError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    finally:
        if embedded is not None:
            embedded.stop()
    print("\n".join(lines))
    if not options.dry_run:
        print("database is at the migration head")
    return 0


def _failed(exc: Exception) -> int:
    # What an operator can fix (port taken, database unreachable or not migrated): one line
    # that says so, instead of a traceback through the startup machinery.
    logger.error("service_failed", error=f"{type(exc).__name__}: {exc}")
    logger.debug("service_failed_traceback", exc_info=True)
    return 1


def _serve(settings: Settings, listen_fd: int | None) -> int:
    if listen_fd is None and settings.http_workers > 1:
        from class_management_service.supervisor import supervise

        try:
            return supervise(settings)
        except OSError as exc:  # the port cannot be bound
            return _failed(exc)

    import uvloop
    from asyncpg import PostgresError  # type: ignore[import-untyped]
    from sqlalchemy.exc import SQLAlchemyError

    from class_management_service.implementations.postgres.migrations import SchemaNotAtHeadError
    from class_management_service.runtime import serve

    try:
        # uvloop: the event loop itself was a quarter to a third of the CPU per request.
        uvloop.run(serve(settings, listen_fd=listen_fd))
    except (OSError, SchemaNotAtHeadError, SQLAlchemyError, PostgresError) as exc:
        return _failed(exc)
    return 0


def _serve_with_reload() -> int:
    """``serve`` in a child process, restarted when a Python file of the service or the libs
    changes (``pdm run dev``). Settings are read by each child, so an edited environment file
    takes effect on the next restart too."""
    from pathlib import Path

    from watchfiles import PythonFilter, run_process

    root = Path(__file__).resolve().parents[2]
    command = f"{sys.executable} -m class_management_service serve"
    # watchfiles stops the child with SIGINT, which the service treats like SIGTERM: requests
    # drain, workers stop, the embedded database shuts down cleanly before the restart.
    run_process(
        root / "services",
        root / "libs",
        target=command,
        target_type="command",
        watch_filter=PythonFilter(),
        sigint_timeout=10,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="class_management_service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="serve the HTTP API and run the workers")
    # Internal: a serving process started by the HTTP_WORKERS supervisor, on its socket.
    serve_parser.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    serve_parser.add_argument(
        "--reload", action="store_true", help="restart when a source file changes (development)"
    )
    migrate_parser = commands.add_parser("migrate", help="apply Alembic migrations to the database")
    migrate_parser.add_argument(
        "--before-serve",
        action="store_true",
        help="what make run does first: succeed without migrating in the in-memory mode, and"
        " never convert the previous implementation's database",
    )
    migrate_parser.add_argument(
        "--dry-run",
        action="store_true",
        help="report what migrate would do (row counts per step, collisions); change nothing",
    )
    migrate_parser.add_argument(
        "--old-timezone",
        metavar="ZONE",
        help="time zone the previous service's database server wrote its timestamps in"
        " (default: the database's own TimeZone setting)",
    )
    migrate_parser.add_argument(
        "--lowercase-collisions",
        choices=("stop", "suffix"),
        default="stop",
        help="e-mails that collide once lower-cased: stop (default) or keep the newer"
        " student's and clear the older one's",
    )
    outbox = commands.add_parser("outbox", help="inspect or repair the transactional outbox")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_commands.add_parser("status", help="pending, parked and oldest age per destination")
    outbox_commands.add_parser("requeue", help="move parked rows back to pending")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    configure_logging(settings)

    if args.command == "serve":
        if args.reload:
            return _serve_with_reload()
        return _serve(settings, args.listen_fd)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings, args))
    from class_management_service.operations import outbox_command

    return asyncio.run(outbox_command(settings, args.outbox_command))


if __name__ == "__main__":
    sys.exit(main())
