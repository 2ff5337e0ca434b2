"""What ``migrate`` finds: an empty database, this service's, the previous service's, or other."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# The previous implementation's Alembic chain (cutover.md §1); its head merges two branches.
PREVIOUS_HEAD = "f8769bf24989"
PREVIOUS_REVISIONS = frozenset(
    {
        "0001",
        "0002",
        "8ad1e604aea6",
        "220aebb1348a",
        "7d21f7fdd41e",
        "20ba9223a723",
        "59d16918f933",
        "a1b2c3d4e5f6",
        PREVIOUS_HEAD,
    }
)


class State(enum.Enum):
    EMPTY = "empty"
    OURS = "ours"
    PREVIOUS_HEAD = "previous_head"
    PREVIOUS_OLDER = "previous_older"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DatabaseState:
    state: State
    revisions: tuple[str, ...]
    tables: tuple[str, ...]

    def refusal(self) -> str | None:
        """Why ``migrate`` must not touch this database; ``None`` when it may."""
        if self.state is State.PREVIOUS_OLDER:
            return (
                f"the database is at revision {', '.join(self.revisions)} of the previous Class"
                f" Management Service, not at its head {PREVIOUS_HEAD}: bring the previous"
                " service to its head first (its `alembic upgrade head`), then run `migrate`"
                " again; nothing was changed"
            )
        if self.state is State.UNKNOWN:
            found = ", ".join(self.revisions) or "no alembic_version"
            return (
                f"the database is neither empty, nor at a revision of this service, nor at the"
                f" previous service's head {PREVIOUS_HEAD} ({found}; tables:"
                f" {', '.join(self.tables[:8])}{' ...' if len(self.tables) > 8 else ''}):"
                " refusing to migrate it; nothing was changed"
            )
        return None


async def database_state(
    connection: AsyncConnection, own_revisions: frozenset[str]
) -> DatabaseState:
    tables = tuple(
        (
            await connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
                )
            )
        ).scalars()
    )
    revisions: tuple[str, ...] = ()
    if "alembic_version" in tables:
        revisions = tuple(
            (
                await connection.execute(
                    text("SELECT version_num FROM alembic_version ORDER BY version_num")
                )
            ).scalars()
        )
    if not tables:
        state = State.EMPTY
    elif revisions and set(revisions) <= own_revisions:
        state = State.OURS
    elif revisions == (PREVIOUS_HEAD,):
        state = State.PREVIOUS_HEAD
    elif revisions and set(revisions) <= PREVIOUS_REVISIONS:
        state = State.PREVIOUS_OLDER
    elif tables == ("alembic_version",) and not revisions:
        state = State.EMPTY
    else:
        state = State.UNKNOWN
    return DatabaseState(state, revisions, tables)
