"""Celery tasks: thin shims, one module per flow. Each gives a flow a stable dotted name, a queue and the
retry policy (worker/retry.py `IntegrationTask`), and makes one call into flows/, where the logic is."""
