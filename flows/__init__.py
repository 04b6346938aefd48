"""The logic of each flow, as plain functions over store/, clients/ and domain/; no Celery
(tasks/ holds the shims)."""
