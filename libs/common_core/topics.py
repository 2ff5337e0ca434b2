"""Fixed messaging names: topics, client ids, the Redis channel and system identities."""

from __future__ import annotations

SERVICE_NAME = "class_management_service"

CLASS_CREATED_TOPIC = "huleedu.class.created.v1"
CLASS_UPDATED_TOPIC = "huleedu.class.updated.v1"
STUDENT_CREATED_TOPIC = "huleedu.class.student.created.v1"
STUDENT_UPDATED_TOPIC = "huleedu.class.student.updated.v1"
STUDENT_ASSOCIATIONS_CONFIRMED_TOPIC = "huleedu.class.student.associations.confirmed.v1"
TEACHER_NOTIFICATION_REQUESTED_TOPIC = "huleedu.notification.teacher.requested.v1"

PUBLISHED_TOPICS: frozenset[str] = frozenset(
    {
        CLASS_CREATED_TOPIC,
        CLASS_UPDATED_TOPIC,
        STUDENT_CREATED_TOPIC,
        STUDENT_UPDATED_TOPIC,
        STUDENT_ASSOCIATIONS_CONFIRMED_TOPIC,
        TEACHER_NOTIFICATION_REQUESTED_TOPIC,
    }
)

BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC = "huleedu.batch.author.matches.suggested.v1"
BATCH_AUTHOR_MATCHES_SUGGESTED_DLQ_TOPIC = "huleedu.batch.author.matches.suggested.v1.dlq"
# The NLP service has historically put its short event name in `event_type`; both are accepted.
BATCH_AUTHOR_MATCHES_SUGGESTED_EVENT_NAME = "batch.author.matches.suggested"
SUGGESTION_EVENT_TYPES: frozenset[str] = frozenset(
    {BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC, BATCH_AUTHOR_MATCHES_SUGGESTED_EVENT_NAME}
)

PRODUCER_CLIENT_ID = f"{SERVICE_NAME}-producer"
CONSUMER_CLIENT_ID = f"{SERVICE_NAME}-consumer"
DEFAULT_CONSUMER_GROUP_ID = f"{SERVICE_NAME}-consumer-group"

OUTBOX_NOTIFY_CHANNEL = "event_outbox"

SYSTEM_TIMEOUT = "SYSTEM_TIMEOUT"
NLP_SERVICE_PHASE1 = "nlp_service_phase1"
# Refused as X-User-ID so no teacher can own or see system-created rows.
SYSTEM_IDENTITIES: frozenset[str] = frozenset({SYSTEM_TIMEOUT, NLP_SERVICE_PHASE1})


def teacher_channel(teacher_id: str) -> str:
    """Redis pub/sub channel read by the websocket gateway for one teacher."""
    return f"ws:{teacher_id}"
