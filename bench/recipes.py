"""The SQL each operation executes, recorded from the service's own use cases and adapters.

Each operation runs once in-process against the bench database while a SQLAlchemy listener
records every statement exactly as sent to asyncpg (text, positional parameters, executemany)
and how the transaction ends. The parameters become templates for the raw client:

* ids of inserted rows (the first ``id`` column of an ``INSERT``) become fresh UUIDs per request,
  wherever they reappear (foreign keys, ``aggregate_id``, inside the JSON event data);
* sample e-mails ``cap<N>@capture.example`` become unique e-mails per request;
* the sample class / student / teacher become the next entry of a rotation, as wrk rotates paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID, uuid4

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

SlotKind = Literal["fresh", "email", "rotation"]
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_EMAIL = r"cap(\d+)@capture\.example"
_INSERT_WITH_ID = re.compile(r"^INSERT INTO \w+ \(id,")


CAPTURE_EMAIL_FORMAT = "cap{}@capture.example"


def capture_email(index: int) -> str:
    return CAPTURE_EMAIL_FORMAT.format(index)


@dataclass(frozen=True, slots=True)
class Const:
    value: Any


@dataclass(frozen=True, slots=True)
class Slot:
    """A value chosen per request: ``fresh`` UUID #key, ``email`` #key, or a rotation field."""

    kind: SlotKind
    key: int | str


@dataclass(frozen=True, slots=True)
class Text:
    """A string with slots inside it (in their string form), e.g. ids in JSON event data."""

    parts: tuple[str | Slot, ...]


@dataclass(frozen=True, slots=True)
class Items:
    items: tuple[Param, ...]


Param = Const | Slot | Text | Items


@dataclass(frozen=True)
class Step:
    sql: str
    rows: tuple[tuple[Param, ...], ...]
    many: bool


@dataclass(frozen=True)
class Recipe:
    operation: str
    steps: tuple[Step, ...]
    commit: bool
    fresh_count: int
    email_count: int
    rotation: tuple[dict[str, Any], ...] = ()
    # The statements as captured, with the sample's own parameters (EXPLAIN, bench.plans).
    samples: tuple[tuple[str, tuple[Any, ...] | None], ...] = ()

    def statements(self) -> list[str]:
        return [step.sql for step in self.steps]


@dataclass
class Recorder:
    """Every statement and the transaction's end, as the engine sends them."""

    statements: list[tuple[str, Any, bool]] = field(default_factory=list)
    ends: list[str] = field(default_factory=list)

    def attach(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._statement)
        event.listen(sync, "commit", lambda _connection: self.ends.append("commit"))
        event.listen(sync, "rollback", lambda _connection: self.ends.append("rollback"))

    def _statement(
        self,
        _connection: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        self.statements.append((statement, parameters, executemany))

    def reset(self) -> None:
        self.statements.clear()
        self.ends.clear()


class _Templater:
    def __init__(self, fresh: dict[UUID, int], rotation: dict[Any, str]) -> None:
        self.fresh = fresh
        self.rotation = rotation
        self.emails: set[int] = set()
        literals = [re.escape(value) for value in rotation if isinstance(value, str)]
        pattern = f"({_UUID})|{_EMAIL}"
        if literals:
            pattern += "|(" + "|".join(literals) + ")"
        self._pattern = re.compile(pattern)

    def _uuid_slot(self, value: UUID) -> Slot | None:
        if value in self.fresh:
            return Slot("fresh", self.fresh[value])
        if value in self.rotation:
            return Slot("rotation", self.rotation[value])
        return None

    def _text(self, value: str) -> Param:
        parts: list[str | Slot] = []
        position = 0
        for match in self._pattern.finditer(value):
            slot: Slot | None
            if match.group(1) is not None:
                slot = self._uuid_slot(UUID(match.group(1)))
            elif match.group(2) is not None:
                self.emails.add(int(match.group(2)))
                slot = Slot("email", int(match.group(2)))
            else:
                slot = Slot("rotation", self.rotation[match.group(0)])
            if slot is None:
                continue
            parts += [value[position : match.start()], slot]
            position = match.end()
        if not parts:
            return Const(value)
        parts.append(value[position:])
        if len(parts) == 3 and parts[0] == "" and parts[2] == "" and isinstance(parts[1], Slot):
            slot_only = parts[1]
            if slot_only.kind == "email" or isinstance(self._rotation_value(slot_only), str):
                return slot_only
        return Text(tuple(part for part in parts if part != ""))

    def _rotation_value(self, slot: Slot) -> Any:
        return next((v for v, k in self.rotation.items() if k == slot.key), None)

    def param(self, value: Any) -> Param:
        if isinstance(value, UUID):
            return self._uuid_slot(value) or Const(value)
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, list | tuple):
            return Items(tuple(self.param(item) for item in value))
        return Const(value)


def _rows(parameters: Any, executemany: bool) -> list[Sequence[Any]]:
    if executemany:
        return list(parameters)
    return [parameters or ()]


def build_recipe(
    operation: str,
    recorder: Recorder,
    rotation_samples: dict[Any, str],
    rotation: Sequence[dict[str, Any]] = (),
) -> Recipe:
    """Turn one recorded run of ``operation`` into a replayable recipe."""
    if len(recorder.ends) != 1:
        raise RuntimeError(f"{operation}: expected one transaction, saw {recorder.ends}")
    fresh: dict[UUID, int] = {}
    for statement, parameters, executemany in recorder.statements:
        if _INSERT_WITH_ID.match(statement):
            for row in _rows(parameters, executemany):
                # One id per row (VALUES) or an array of ids (INSERT ... SELECT FROM unnest).
                ids = row[0] if isinstance(row[0], list | tuple) else [row[0]]
                for new_id in ids:
                    if isinstance(new_id, UUID):
                        fresh.setdefault(new_id, len(fresh))
    templater = _Templater(fresh, rotation_samples)
    steps = tuple(
        Step(
            sql=statement,
            rows=tuple(
                tuple(templater.param(value) for value in row)
                for row in _rows(parameters, executemany)
            ),
            many=executemany,
        )
        for statement, parameters, executemany in recorder.statements
    )
    return Recipe(
        operation=operation,
        steps=steps,
        commit=recorder.ends[0] == "commit",
        fresh_count=len(fresh),
        email_count=max(templater.emails, default=-1) + 1,
        rotation=tuple(rotation),
        samples=tuple(
            (statement, None if executemany else tuple(parameters))
            for statement, parameters, executemany in recorder.statements
        ),
    )


@dataclass
class Values:
    """The values of one replayed request."""

    fresh: list[UUID]
    fresh_text: list[str]
    emails: list[str]
    rotation: dict[str, Any]
    rotation_text: dict[str, str]

    @classmethod
    def draw(cls, recipe: Recipe, email_prefix: str, number: int) -> Values:
        fresh = [uuid4() for _ in range(recipe.fresh_count)]
        rotation = recipe.rotation[number % len(recipe.rotation)] if recipe.rotation else {}
        return cls(
            fresh=fresh,
            fresh_text=[str(value) for value in fresh],
            emails=[
                f"{email_prefix}-{number}-{i}@bench.example" for i in range(recipe.email_count)
            ],
            rotation=rotation,
            rotation_text={key: str(value) for key, value in rotation.items()},
        )

    def _slot(self, slot: Slot, *, text: bool) -> Any:
        if slot.kind == "fresh":
            assert isinstance(slot.key, int)
            return self.fresh_text[slot.key] if text else self.fresh[slot.key]
        if slot.kind == "email":
            assert isinstance(slot.key, int)
            return self.emails[slot.key]
        assert isinstance(slot.key, str)
        return self.rotation_text[slot.key] if text else self.rotation[slot.key]

    def render(self, param: Param) -> Any:
        if isinstance(param, Const):
            return param.value
        if isinstance(param, Slot):
            return self._slot(param, text=False)
        if isinstance(param, Text):
            return "".join(
                part if isinstance(part, str) else self._slot(part, text=True)
                for part in param.parts
            )
        return [self.render(item) for item in param.items]

    def rows(self, step: Step) -> Iterator[tuple[Any, ...]]:
        for row in step.rows:
            yield tuple(self.render(param) for param in row)
