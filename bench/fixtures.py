"""Data the cases read or write into, prepared through the service's own HTTP API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import httpx

from bench.config import BULK_ROWS, CLASS_SIZE, READER_CLASSES

T = TypeVar("T")


def teacher_headers(teacher: str) -> dict[str, str]:
    return {"X-User-ID": teacher, "Content-Type": "application/json"}


def bulk_rows(count: int, *, email_format: str = "student{}@bulk.example") -> list[dict[str, Any]]:
    """Import rows as a school exports them: every row has an e-mail, a third a legal name."""
    rows: list[dict[str, Any]] = []
    for index in range(count):
        row: dict[str, Any] = {
            "first_name": f"First{index}",
            "last_name": f"Last{index}",
            "email": email_format.format(index),
        }
        if index % 3 == 0:
            row["legal_full_name"] = f"First{index} Middle Last{index}"
        rows.append(row)
    return rows


def bulk_body(count: int = BULK_ROWS) -> bytes:
    return json.dumps(bulk_rows(count)).encode()


class Api:
    """The few calls fixtures need, failing loudly on anything but success."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def create_class(self, teacher: str, name: str) -> str:
        response = await self._client.post(
            "/v1/classes",
            headers=teacher_headers(teacher),
            json={"name": name, "course_codes": ["ENG5"]},
        )
        response.raise_for_status()
        class_id: str = response.json()["id"]
        return class_id

    async def bulk_import(self, teacher: str, class_id: str, body: bytes) -> list[str]:
        response = await self._client.post(
            f"/v1/classes/{class_id}/students/bulk",
            headers=teacher_headers(teacher),
            content=body,
        )
        response.raise_for_status()
        return [item["student_id"] for item in response.json()["results"]]


async def gather_limited(calls: Sequence[Callable[[], Awaitable[T]]], limit: int = 16) -> list[T]:
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await call()

    return await asyncio.gather(*(one(call) for call in calls))


@dataclass
class Fixtures:
    token: str
    reader_teacher: str = ""
    reader_class_ids: list[str] = field(default_factory=list)
    reader_student_ids: list[str] = field(default_factory=list)
    class_writer: str = ""
    student_writer: str = ""
    student_writer_class_ids: list[str] = field(default_factory=list)
    bulk_pairs: list[tuple[str, str]] = field(default_factory=list)
    raw_bulk_pairs: list[tuple[str, str]] = field(default_factory=list)
    capture_bulk_pair: tuple[str, str] = ("", "")
    consumer_class_id: str = ""
    consumer_student_ids: list[str] = field(default_factory=list)


async def new_bulk_pairs(api: Api, prefix: str, count: int) -> list[tuple[str, str]]:
    """(teacher, class) pairs: each import goes into a fresh class of its own teacher."""
    teachers = [f"{prefix}-{index}" for index in range(count)]
    calls = [partial(api.create_class, teacher, "Bulk import target") for teacher in teachers]
    class_ids = await gather_limited(calls)
    return list(zip(teachers, class_ids, strict=True))


async def prepare(
    base_url: str, token: str, *, writer_pool: int, bulk_pairs: int, raw_bulk_pairs: int
) -> Fixtures:
    fixtures = Fixtures(token=token)
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0) as client:
        api = Api(client)
        # Reads: one teacher with 20 classes (a full list page) of 25 students each.
        fixtures.reader_teacher = f"bench-reader-{token}"
        reader = fixtures.reader_teacher
        fixtures.reader_class_ids = await gather_limited(
            [partial(api.create_class, reader, f"Class {i}") for i in range(READER_CLASSES)]
        )
        for index, class_id in enumerate(fixtures.reader_class_ids):
            rows = bulk_rows(CLASS_SIZE, email_format=f"c{index}s{{}}@reader.example")
            fixtures.reader_student_ids += await api.bulk_import(
                reader, class_id, json.dumps(rows).encode()
            )
        # create_class: classes accumulate under one teacher.
        fixtures.class_writer = f"bench-class-writer-{token}"
        # create_student: every new student joins one class from a pool, round-robin, so that
        # classes stay school-sized while the students accumulate under one teacher.
        fixtures.student_writer = f"bench-student-writer-{token}"
        writer = fixtures.student_writer
        fixtures.student_writer_class_ids = await gather_limited(
            [partial(api.create_class, writer, f"Pool class {i}") for i in range(writer_pool)]
        )
        fixtures.bulk_pairs = await new_bulk_pairs(api, f"bench-bulk-{token}", bulk_pairs)
        fixtures.raw_bulk_pairs = await new_bulk_pairs(
            api, f"bench-rawbulk-{token}", raw_bulk_pairs
        )
        (fixtures.capture_bulk_pair,) = await new_bulk_pairs(api, f"bench-capture-{token}", 1)
        # consumer: suggestion events name the students of one class of 30.
        teacher, fixtures.consumer_class_id = (
            await new_bulk_pairs(api, f"bench-consumer-{token}", 1)
        )[0]
        rows = bulk_rows(30, email_format="s{}@consumer.example")
        fixtures.consumer_student_ids = await api.bulk_import(
            teacher, fixtures.consumer_class_id, json.dumps(rows).encode()
        )
    return fixtures
