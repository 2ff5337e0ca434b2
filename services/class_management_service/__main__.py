"""Operator CLI: ``python -m class_management_service serve | migrate | outbox status|requeue``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from class_management_service.config import Settings, SettingsError, load_settings
from class_management_service.logging import configure_logging


async def _migrate(settings: Settings) -> None:
    from class_management_service.adapters.db.migrations import upgrade_to_head
    from class_management_service.runtime import resolve_database_url

    if settings.use_mock_repository:
        raise SystemExit("USE_MOCK_REPOSITORY is set: the in-memory store has no schema")
    url, embedded = await resolve_database_url(settings)
    try:
        await upgrade_to_head(url)
    finally:
        if embedded is not None:
            embedded.stop()
    print("database is at the migration head")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="class_management_service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the HTTP API and run the workers")
    commands.add_parser("migrate", help="apply Alembic migrations to the database")
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
        from class_management_service.runtime import serve

        asyncio.run(serve(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    else:
        from class_management_service.operations import outbox_command

        return asyncio.run(outbox_command(settings, args.outbox_command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
