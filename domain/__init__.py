"""Pure domain logic: no I/O, no Celery, no HTTP, no Redis."""
