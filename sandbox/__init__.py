"""Emulated vendors (Aircall REST, Jobber GraphQL) and a scenario driver: the demo, tests and benchmarks run on them."""
