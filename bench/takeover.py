"""``takeover``: `migrate` converting a large previous-implementation database (cutover.md §2).

A database in the previous schema (the tests' fixture DDL) is filled with generated rows at
district scale — 10,000 classes, 100,000 students, 300,000 enrolments (some duplicated), 100,000
essay associations, 50,000 outbox rows (a tenth pending, confirmation events among them) — and
``migrate`` is timed converting it in one transaction.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.config import BenchConfig
from bench.database import recreate, with_database
from class_management_service.implementations.postgres.migrations import migrate_database
from class_management_service.implementations.postgres.takeover import TakeoverOptions
from tests.fixtures.previous_service import create_previous_schema

SCALE = {
    "classes": 10_000,
    "students": 100_000,
    "enrolments": 300_000,
    "associations": 100_000,
    "outbox": 50_000,
}
QUICK_DIVISOR = 10

_FILL = """
CREATE TEMP TABLE class_n AS
  SELECT g AS n, gen_random_uuid() AS id FROM generate_series(1, {classes}) g;
INSERT INTO classes
  SELECT c.id, 'Class ' || c.n, 'teacher-' || (c.n % 1000),
         (SELECT id FROM courses ORDER BY course_code OFFSET (c.n % 6) LIMIT 1),
         timestamp '2025-01-01' + c.n * interval '7 minutes',
         timestamp '2025-01-01' + c.n * interval '7 minutes'
  FROM class_n c;
CREATE TEMP TABLE student_n AS
  SELECT g AS n, gen_random_uuid() AS id FROM generate_series(1, {students}) g;
INSERT INTO students
  SELECT s.id, 'First' || s.n, 'Last' || s.n,
         CASE WHEN s.n % 2 = 0 THEN 'First' || s.n || ' Middle Last' || s.n END,
         CASE WHEN s.n % 5 <> 0 THEN 'Student.' || s.n || '@School.Example' END,
         'teacher-' || (s.n % 1000),
         timestamp '2025-02-01' + s.n * interval '1 minute',
         timestamp '2025-02-01' + s.n * interval '1 minute'
  FROM student_n s;
INSERT INTO class_student_association
  SELECT c.id, s.id FROM student_n s
  CROSS JOIN generate_series(0, {per_student} - 1) k
  JOIN class_n c ON c.n = 1 + ((s.n + k * 1000) % {classes});
INSERT INTO class_student_association
  SELECT class_id, student_id FROM class_student_association LIMIT {duplicates};
INSERT INTO essay_student_associations (id, essay_id, student_id, created_by_user_id, created_at,
    batch_id, class_id, confidence_score, match_reasons, validation_status, validated_by,
    validated_at, validation_method)
  SELECT gen_random_uuid(), gen_random_uuid(), s.id, 'nlp_service_phase1',
         timestamp '2025-11-01' + s.n * interval '1 second',
         md5('batch' || (s.n % {batches}))::uuid, c.id, (s.n % 100) / 100.0, '["name"]',
         CASE WHEN s.n % 5 = 0 THEN 'confirmed' ELSE 'pending_validation' END,
         CASE WHEN s.n % 5 = 0 THEN 'SYSTEM_TIMEOUT' END,
         CASE WHEN s.n % 5 = 0 THEN timestamp '2025-11-03' END,
         CASE WHEN s.n % 5 = 0 THEN 'timeout' END
  FROM student_n s JOIN class_n c ON c.n = 1 + (s.n % {classes})
  WHERE s.n <= {associations};
INSERT INTO event_outbox (id, aggregate_id, aggregate_type, event_type, event_data, event_key,
    created_at, published_at, retry_count, topic)
  SELECT gen_random_uuid(), x.cid, 'class', 'huleedu.class.created.v1',
         json_build_object('event_id', gen_random_uuid(), 'event_type', 'huleedu.class.created.v1',
           'event_timestamp', '2025-12-01T08:00:00Z', 'source_service', 'class_management_service',
           'schema_version', 1, 'correlation_id', x.cid, 'data_schema_uri', NULL,
           'data', json_build_object('class_id', c.id, 'class_designation', 'Class ' || c.n,
                                     'course_codes', json_build_array('ENG5')),
           'metadata', NULL, 'topic', 'huleedu.class.created.v1'),
         x.cid, timestamptz '2025-12-01 08:00:00+00' + g * interval '1 second',
         CASE WHEN g % 10 <> 0 THEN timestamptz '2025-12-01 09:00:00+00' END, 0,
         'huleedu.class.created.v1'
  FROM generate_series(1, {outbox}) g
  CROSS JOIN LATERAL (SELECT gen_random_uuid()::text AS cid) x
  JOIN class_n c ON c.n = 1 + (g % {classes});
"""


async def run_takeover_case(config: BenchConfig) -> dict[str, Any]:
    scale = {k: v // QUICK_DIVISOR if config.quick else v for k, v in SCALE.items()}
    database = f"{config.bench_database}_takeover"
    await recreate(config.database_url, database)
    url = with_database(config.database_url, database)
    connection = await asyncpg.connect(url)
    try:
        await create_previous_schema(connection, database)
        started = time.perf_counter()
        await connection.execute(
            _FILL.format(
                **scale,
                per_student=scale["enrolments"] // scale["students"],
                duplicates=scale["enrolments"] // 100,
                batches=max(1, scale["associations"] // 10),
            )
        )
        await connection.execute("ANALYZE")
        fill_s = time.perf_counter() - started
    finally:
        await connection.close()
    started = time.perf_counter()
    lines = await migrate_database(url, TakeoverOptions())
    seconds = time.perf_counter() - started
    counts = {
        name.strip(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[2:])
        if not name.startswith("listed")
    }
    await recreate(config.database_url, database)
    return {
        "status": "ok",
        "scale": scale,
        "fill_seconds": round(fill_s, 2),
        "migrate_seconds": round(seconds, 2),
        "rows_per_second": round(sum(scale.values()) / seconds),
        "report": counts,
        "summary": {
            "headline": "seconds for migrate to take the previous database over, one transaction",
            "value": round(seconds, 2),
        },
    }
