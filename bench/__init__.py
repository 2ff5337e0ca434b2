"""Benchmarks of the Class Management Service against real PostgreSQL, Kafka and Redis."""
