"""The worker fleet: the one Celery app, its schedule, the retry/dead-letter policy, and the ajctl CLI."""
