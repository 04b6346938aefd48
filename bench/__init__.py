"""Benchmarks (`make bench`): JSON results, never timed assertions in tests."""
