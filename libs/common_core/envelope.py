"""The platform ``EventEnvelope`` wrapping every Kafka message value, and its record headers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict

from common_core.topics import SERVICE_NAME
from common_core.wire import CanonicalUuid, UtcDatetime, encode_json

PayloadT = TypeVar("PayloadT", bound=BaseModel)

SCHEMA_VERSION = 1
HEADER_NAMES: tuple[str, ...] = ("event_id", "event_type", "correlation_id", "source_service")


class EventEnvelope(BaseModel, Generic[PayloadT]):
    """A published envelope; ``data`` is the typed payload model."""

    model_config = ConfigDict(frozen=True)

    event_id: CanonicalUuid
    event_type: str
    event_timestamp: UtcDatetime
    source_service: str = SERVICE_NAME
    schema_version: int = SCHEMA_VERSION
    correlation_id: CanonicalUuid
    data_schema_uri: str | None = None
    data: PayloadT
    metadata: dict[str, Any] | None = None

    def to_wire_dict(self) -> dict[str, Any]:
        """The exact JSON object of the contract (every key present, ``null`` where empty)."""
        # serialize_as_any: serialise `data` by its concrete model even when unparametrised.
        return self.model_dump(mode="json", serialize_as_any=True)

    def to_json_bytes(self) -> bytes:
        return encode_json(self.to_wire_dict())


def build_envelope(
    *,
    event_type: str,
    payload: PayloadT,
    correlation_id: UUID,
    event_timestamp: datetime,
    event_id: UUID | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> EventEnvelope[PayloadT]:
    """Wrap ``payload``; a fresh ``event_id`` is minted unless one is given.

    Raises ``ValueError`` if the payload carries a ``timestamp`` or ``correlation_id`` that differs
    from the envelope's, because the contract requires them to be equal.
    """
    envelope: EventEnvelope[PayloadT] = EventEnvelope(
        event_id=event_id if event_id is not None else uuid4(),
        event_type=event_type,
        event_timestamp=event_timestamp,
        correlation_id=correlation_id,
        data=payload,
        metadata=dict(metadata) if metadata is not None else None,
    )
    payload_timestamp = getattr(payload, "timestamp", None)
    if payload_timestamp is not None and payload_timestamp != envelope.event_timestamp:
        raise ValueError("payload timestamp must equal the envelope event_timestamp")
    payload_correlation = getattr(payload, "correlation_id", None)
    if payload_correlation is not None and payload_correlation != envelope.correlation_id:
        raise ValueError("payload correlation_id must equal the envelope correlation_id")
    return envelope


def kafka_headers(envelope: EventEnvelope[Any] | Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """Record headers ``event_id``, ``event_type``, ``correlation_id``, ``source_service``.

    Accepts the model or its stored wire dict, so the outbox relay can publish ``event_data``
    without re-parsing it.
    """
    wire = envelope.to_wire_dict() if isinstance(envelope, EventEnvelope) else envelope
    return [(name, str(wire[name]).encode("utf-8")) for name in HEADER_NAMES]
