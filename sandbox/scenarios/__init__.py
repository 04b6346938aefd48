"""Aircall webhook traffic for the demo, tests and benchmarks: pure payload builders (`payloads`) and
named scenarios with delivery options (`library`). `sandbox.play` sends them over HTTP."""

from sandbox.scenarios.library import (
    DEFAULT_EXTERNALS,
    SCENARIOS,
    ScenarioContext,
    build,
    delivery_order,
)

__all__ = ["DEFAULT_EXTERNALS", "SCENARIOS", "ScenarioContext", "build", "delivery_order"]
