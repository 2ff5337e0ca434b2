"""Publishes Redis outbox rows: ``PUBLISH <channel> <event_data JSON>`` (``events.md`` §7.1)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from common_core.wire import encode_json
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

    async def publish(self, record: OutboxRecord) -> None:
        async with asyncio.timeout(self._timeout):
            await self._client.publish(record.topic, encode_json(record.event_data))

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
