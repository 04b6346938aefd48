"""Celery tasks, one module per flow. Tasks are thin: they read state, call domain logic and adapters."""
