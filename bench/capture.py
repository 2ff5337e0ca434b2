"""Records the SQL of every benchmarked operation by running the service's use cases once."""

from __future__ import annotations

from uuid import UUID, uuid4

from bench.config import BULK_ROWS
from bench.fixtures import Fixtures, bulk_rows
from bench.recipes import (
    CAPTURE_EMAIL_FORMAT,
    Recipe,
    Recorder,
    build_recipe,
    capture_email,
)
from class_management_service.api.import_rows import rows_from_json
from class_management_service.application.bulk_import import BulkImport
from class_management_service.application.classes import ClassUseCases
from class_management_service.application.context import Actor
from class_management_service.application.outbox_messages import NotificationPolicy, OutboxMessages
from class_management_service.application.students import PersonName, StudentUseCases
from class_management_service.config import Settings
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.postgres.engine import create_engine_for_url
from common_core.courses import course_by_code
from huleedu_service_libs.clock import SystemClock


def _actor(teacher: str) -> Actor:
    return Actor(teacher_id=teacher, correlation_id=uuid4())


async def capture_recipes(database_url: str, fixtures: Fixtures) -> dict[str, Recipe]:
    """One recipe per operation, from the same use cases and adapters the routes call."""
    defaults = Settings()  # pool and notification defaults, as the service runs with them
    engine = create_engine_for_url(
        database_url, pool_size=defaults.db_pool_size, max_overflow=defaults.db_max_overflow
    )
    recorder = Recorder()
    recorder.attach(engine)
    uow = PostgreSQLClassRepositoryImpl(engine)
    clock = SystemClock()
    messages = OutboxMessages(
        NotificationPolicy(
            redis=defaults.notifications_redis_enabled, kafka=defaults.notifications_kafka_enabled
        )
    )
    classes = ClassUseCases(uow, clock, messages)
    students = StudentUseCases(uow, clock, messages)
    bulk = BulkImport(uow, clock, messages)
    recipes: dict[str, Recipe] = {}
    reader = fixtures.reader_teacher
    try:
        sample_class = UUID(fixtures.reader_class_ids[0])
        recorder.reset()
        await classes.get(_actor(reader), sample_class)
        recipes["get_class"] = build_recipe(
            "get_class",
            recorder,
            {sample_class: "class"},
            [{"class": UUID(value)} for value in fixtures.reader_class_ids],
        )

        sample_student = UUID(fixtures.reader_student_ids[0])
        recorder.reset()
        await students.get(_actor(reader), sample_student)
        recipes["get_student"] = build_recipe(
            "get_student",
            recorder,
            {sample_student: "student"},
            [{"student": UUID(value)} for value in fixtures.reader_student_ids],
        )

        recorder.reset()
        await classes.list_page(_actor(reader), limit=20, offset=0)
        recipes["list_classes"] = build_recipe("list_classes", recorder, {})

        recorder.reset()
        await classes.create(_actor(fixtures.class_writer), "Bench class", course_by_code("ENG5"))
        recipes["create_class"] = build_recipe("create_class", recorder, {})

        pool = [UUID(value) for value in fixtures.student_writer_class_ids]
        recorder.reset()
        await students.create(
            _actor(fixtures.student_writer),
            PersonName("Bench", "Student"),
            capture_email(0),
            [pool[0]],
        )
        recipes["create_student"] = build_recipe(
            "create_student", recorder, {pool[0]: "class"}, [{"class": c} for c in pool]
        )

        teacher, class_id = fixtures.capture_bulk_pair
        rows = rows_from_json(bulk_rows(BULK_ROWS, email_format=CAPTURE_EMAIL_FORMAT))
        recorder.reset()
        await bulk.run(_actor(teacher), UUID(class_id), rows)
        recipes["bulk_import"] = build_recipe(
            "bulk_import",
            recorder,
            {UUID(class_id): "class", teacher: "teacher"},
            [{"teacher": t, "class": UUID(c)} for t, c in fixtures.raw_bulk_pairs],
        )
    finally:
        await engine.dispose()
    return recipes
