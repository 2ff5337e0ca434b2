"""The previous outbox's unpublished rows, as this service's pending Kafka rows (cutover.md §2.6).

Each keeps its previous envelope as it stands (without the ``topic``/``headers`` keys of the
old row format), in ``created_at`` order; the key and aggregate follow events.md §1 from the
payload (the previous rows used the correlation id); a nil ``event_id`` gets one new UUID; a
student e-mail is lower-cased like the stored student; rows the previous relay gave up on are
parked. Published rows are dropped: they were sent.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

NIL_UUID = "00000000-0000-0000-0000-000000000000"
# The previous relay stopped retrying a row after this many failures.
PREVIOUS_MAX_RETRIES = 5

_KEY = """
CASE
  WHEN o.topic IN ('huleedu.class.created.v1', 'huleedu.class.updated.v1')
    THEN ARRAY[e.envelope->'data'->>'class_id', 'class']
  WHEN o.topic IN ('huleedu.class.student.created.v1', 'huleedu.class.student.updated.v1')
    THEN ARRAY[e.envelope->'data'->>'student_id', 'student']
  WHEN o.topic = 'huleedu.class.student.associations.confirmed.v1'
    THEN ARRAY[e.envelope->'data'->>'batch_id', 'batch']
  WHEN o.topic = 'huleedu.notification.teacher.requested.v1'
    THEN ARRAY[e.envelope->'data'->>'teacher_id', 'teacher']
  ELSE ARRAY[coalesce(o.event_key, o.aggregate_id), o.aggregate_type]
END
"""

_ENVELOPE = f"""
SELECT
  CASE WHEN jsonb_typeof(n.envelope->'data'->'student_email') = 'string'
    THEN jsonb_set(n.envelope, '{{data,student_email}}',
                   to_jsonb(lower(n.envelope->'data'->>'student_email')))
    ELSE n.envelope END AS envelope
FROM (
  SELECT
    CASE WHEN s.envelope->>'event_id' = '{NIL_UUID}'
      THEN jsonb_set(s.envelope, '{{event_id}}', to_jsonb(gen_random_uuid()::text))
      ELSE s.envelope END AS envelope
  FROM (SELECT (o.event_data::jsonb - 'topic' - 'headers') AS envelope) s
) n
"""


async def copy_pending_outbox(
    connection: AsyncConnection, schema: str, counts: dict[str, int]
) -> None:
    parked = f"o.retry_count >= {PREVIOUS_MAX_RETRIES}"
    result = await connection.execute(
        text(
            f"""
            INSERT INTO public.event_outbox (id, destination, aggregate_type, aggregate_id,
              event_type, topic, event_key, event_data, status, retry_count, last_error,
              failed_at, created_at, next_attempt_at)
            SELECT o.id, 'kafka', k.key[2], k.key[1], o.topic, o.topic, k.key[1],
              e.envelope::json,
              CASE WHEN {parked} THEN 'failed' ELSE 'pending' END,
              o.retry_count,
              CASE WHEN {parked}
                THEN coalesce(o.last_error, 'the previous relay gave up') ELSE o.last_error END,
              CASE WHEN {parked} THEN now() END,
              o.created_at, now()
            FROM {schema}.event_outbox o
            CROSS JOIN LATERAL ({_ENVELOPE}) e
            CROSS JOIN LATERAL (SELECT {_KEY} AS key) k
            WHERE o.published_at IS NULL
            ORDER BY o.created_at, o.id
            RETURNING status
            """
        )
    )
    statuses = list(result.scalars())
    counts["outbox rows pending for Kafka"] = statuses.count("pending")
    counts["outbox rows parked (the previous relay gave up)"] = statuses.count("failed")
    counts["nil event ids replaced"] = int(
        (
            await connection.execute(
                text(
                    f"SELECT count(*) FROM {schema}.event_outbox"
                    f" WHERE published_at IS NULL AND event_data->>'event_id' = '{NIL_UUID}'"
                )
            )
        ).scalar_one()
    )
    counts["published outbox rows dropped"] = int(
        (
            await connection.execute(
                text(f"SELECT count(*) FROM {schema}.event_outbox WHERE published_at IS NOT NULL")
            )
        ).scalar_one()
    )
