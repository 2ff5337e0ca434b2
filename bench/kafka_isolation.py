"""Keeps the bench service's suggestion consumer off other people's records on the shared broker.

The service consumes a fixed topic; with its own consumer group, committed at the topic's current
end before it starts, it neither steals partitions from another group nor replays old records.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from common_core.topics import BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC


async def start_group_at_end(
    bootstrap: str, group_id: str, topic: str = BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC
) -> int:
    """Commit ``group_id``'s offsets at the end of ``topic``; returns the partitions committed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return 0  # no such topic yet: nothing old to skip
        assigned = [TopicPartition(topic, partition) for partition in sorted(partitions)]
        consumer.assign(assigned)
        ends = await consumer.end_offsets(assigned)
        await consumer.commit(dict(ends))
        return len(assigned)
    finally:
        await consumer.stop()
