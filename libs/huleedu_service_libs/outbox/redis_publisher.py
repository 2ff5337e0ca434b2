"""Publishes Redis outbox rows: ``PUBLISH <channel> <event_data JSON>`` (``events.md`` §7.1)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from redis.asyncio import Redis

from common_core.wire import encode_json
from huleedu_service_libs.outbox.ports import PublishOutcome
from huleedu_service_libs.outbox.records import OutboxRecord


class RedisPublisher:
    """Zero subscribers is success: pub/sub only reaches whoever listens at that moment."""

    destination = "redis"

    def __init__(
        self,
        client: Redis,
        *,
        publish_timeout_seconds: float = 5.0,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._timeout = publish_timeout_seconds
        self._owns_client = owns_client

    @classmethod
    def from_url(cls, url: str, *, publish_timeout_seconds: float = 5.0) -> RedisPublisher:
        """A publisher with its own client, closed by ``close()``."""
        client = Redis.from_url(
            url,
            socket_connect_timeout=publish_timeout_seconds,
            socket_timeout=publish_timeout_seconds,
        )
        return cls(client, publish_timeout_seconds=publish_timeout_seconds, owns_client=True)

    async def publish_batch(self, records: Sequence[OutboxRecord]) -> list[PublishOutcome]:
        outcomes: list[PublishOutcome] = [None] * len(records)
        messages: list[tuple[int, str, bytes]] = []
        for index, record in enumerate(records):
            try:
                messages.append((index, record.topic, encode_json(record.event_data)))
            except Exception as exc:
                outcomes[index] = exc
        if not messages:
            return outcomes
        try:
            async with asyncio.timeout(self._timeout):
                # One round trip for the whole claim; PUBLISH runs in the order sent.
                async with self._client.pipeline(transaction=False) as pipeline:
                    for _, channel, message in messages:
                        pipeline.publish(channel, message)
                    await pipeline.execute()
        except Exception as exc:
            # Redis reports no per-command outcome for a broken connection: none counts as sent.
            for index, _, _ in messages:
                outcomes[index] = exc
        return outcomes

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
