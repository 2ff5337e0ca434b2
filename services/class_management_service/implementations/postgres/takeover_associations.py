"""Teacher decisions the previous service published but never stored (cutover.md §2 step 5).

Its confirm endpoint emitted ``StudentAssociationsConfirmedV1`` and left the rows pending. Each
essay an event names (latest ``event_timestamp`` wins) is stored as that event decided it; a
batch's pending essays that no event names are rejections when their number is the count of the
batch's latest event, else they stay pending and are listed for the school.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CONFIRMED_TOPIC = "huleedu.class.student.associations.confirmed.v1"
METHODS = frozenset({"human", "timeout", "auto"})


@dataclass(frozen=True)
class _Entry:
    essay_id: str
    student_id: str
    validated_by: str
    validated_at: datetime
    validation_method: str
    event_timestamp: datetime


@dataclass(frozen=True)
class _Event:
    batch_id: str
    timestamp: datetime
    rejected: int
    entries: list[dict[str, Any]]


def _moment(value: Any, fallback: datetime) -> datetime:
    """An ISO timestamp of the previous code (``Z``, an offset, or naive UTC)."""
    if not isinstance(value, str):
        return fallback
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=fallback.tzinfo)


async def _events(connection: AsyncConnection, schema: str) -> list[_Event]:
    rows = await connection.execute(
        text(f"SELECT event_data::text FROM {schema}.event_outbox WHERE topic = :topic"),
        {"topic": CONFIRMED_TOPIC},
    )
    events = []
    for (raw,) in rows:
        envelope = json.loads(raw)
        data = envelope.get("data") or {}
        stamp = datetime.fromisoformat(str(envelope["event_timestamp"]).replace("Z", "+00:00"))
        summary = data.get("validation_summary") or {}
        events.append(
            _Event(
                batch_id=str(data.get("batch_id")),
                timestamp=stamp,
                rejected=int(summary.get("rejected") or 0),
                entries=list(data.get("associations") or []),
            )
        )
    return sorted(events, key=lambda event: event.timestamp)


async def apply_previous_decisions(
    connection: AsyncConnection, schema: str, counts: dict[str, int], listed: list[str]
) -> None:
    events = await _events(connection, schema)
    pending = {
        essay: batch
        for essay, batch in await connection.execute(
            text(
                "SELECT essay_id::text, batch_id::text FROM public.essay_student_associations"
                " WHERE validation_status = 'pending_validation'"
            )
        )
    }
    named_ids = {str(e.get("student_id")) for event in events for e in event.entries}
    students = {
        student
        for (student,) in await connection.execute(
            text("SELECT id::text FROM public.students WHERE id::text = ANY(:ids)"),
            {"ids": sorted(named_ids)},
        )
    }
    known_essays = {
        essay
        for (essay,) in await connection.execute(
            text("SELECT essay_id::text FROM public.essay_student_associations")
        )
    }
    decided: dict[str, _Entry] = {}
    named: set[str] = set()
    skipped = 0
    for event in events:  # oldest first: a later event's entry replaces an earlier one
        for raw in event.entries:
            essay, student = str(raw.get("essay_id")), raw.get("student_id")
            if essay not in known_essays or student is None or str(student) not in students:
                skipped += 1
                why = "no such essay" if essay not in known_essays else "no such student"
                listed.append(
                    f"event entry skipped (batch {event.batch_id}): essay {essay} with student"
                    f" {student} ({why})"
                )
                continue
            named.add(essay)
            if essay not in pending:
                continue  # decided already (by the previous monitor, which stands)
            method = raw.get("validation_method")
            decided[essay] = _Entry(
                essay_id=essay,
                student_id=str(student),
                validated_by=str(raw.get("validated_by") or "unknown"),
                validated_at=_moment(raw.get("validated_at"), event.timestamp),
                validation_method=method if method in METHODS else "human",
                event_timestamp=event.timestamp,
            )
    await _store_confirmations(connection, list(decided.values()))
    counts["teacher confirmations stored from published events"] = len(decided)
    counts["event entries skipped"] = skipped
    await _store_rejections(connection, events, pending, named, decided, counts, listed)


async def _store_confirmations(connection: AsyncConnection, entries: list[_Entry]) -> None:
    if not entries:
        return
    await connection.execute(
        text(
            "UPDATE public.essay_student_associations a SET validation_status = 'confirmed',"
            " student_id = d.student_id, validated_by = d.validated_by,"
            " validated_at = d.validated_at, validation_method = d.validation_method"
            " FROM unnest(CAST(:essays AS uuid[]), CAST(:students AS uuid[]),"
            " CAST(:by AS text[]), CAST(:at AS timestamptz[]), CAST(:methods AS text[]))"
            " AS d(essay_id, student_id, validated_by, validated_at, validation_method)"
            " WHERE a.essay_id = d.essay_id AND a.validation_status = 'pending_validation'"
        ),
        {
            "essays": [e.essay_id for e in entries],
            "students": [e.student_id for e in entries],
            "by": [e.validated_by for e in entries],
            "at": [e.validated_at for e in entries],
            "methods": [e.validation_method for e in entries],
        },
    )


async def _store_rejections(
    connection: AsyncConnection,
    events: list[_Event],
    pending: dict[str, str],
    named: set[str],
    decided: dict[str, _Entry],
    counts: dict[str, int],
    listed: list[str],
) -> None:
    latest: dict[str, _Event] = {}
    for event in events:
        latest[event.batch_id] = event
    unnamed: dict[str, list[str]] = defaultdict(list)
    for essay, batch in pending.items():
        if essay not in named and essay not in decided and batch in latest:
            unnamed[batch].append(essay)
    rejected = 0
    for batch, essays in sorted(unnamed.items()):
        event = latest[batch]
        if len(essays) != event.rejected:
            listed.append(
                f"batch {batch}: {len(essays)} pending essays no event names, its latest event"
                f" counts {event.rejected} rejections; left pending for review:"
                f" {', '.join(sorted(essays))}"
            )
            continue
        by = next(
            (str(e["validated_by"]) for e in event.entries if e.get("validated_by")), "unknown"
        )
        await connection.execute(
            text(
                "UPDATE public.essay_student_associations SET validation_status = 'rejected',"
                " student_id = NULL, validated_by = :by, validated_at = :at,"
                " validation_method = 'human' WHERE essay_id = ANY(CAST(:essays AS uuid[]))"
                " AND validation_status = 'pending_validation'"
            ),
            {"by": by, "at": event.timestamp, "essays": essays},
        )
        rejected += len(essays)
    counts["teacher rejections stored from published counts"] = rejected
    counts["pending associations kept"] = len(pending) - len(decided) - rejected
