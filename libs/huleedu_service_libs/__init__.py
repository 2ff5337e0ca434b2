"""Reusable parts of HuleEdu services: typed Quart app, error handling, outbox relay, clients."""
