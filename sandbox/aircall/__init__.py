"""Emulated Aircall public REST API (in-memory, multi-company) for the demo, tests and benchmarks.

`create_app(**options)` builds the Starlette app; `python -m sandbox.aircall --port 8102` serves it."""

from sandbox.aircall.app import create_app

__all__ = ["create_app"]
