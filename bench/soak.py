"""`make bench` soak: Redis memory per 10k events. The scenario lives in sandbox/soak.py, which the
reliability suite's soak test runs too."""

from __future__ import annotations

from sandbox.soak import parser, run

__all__ = ["parser", "run"]
