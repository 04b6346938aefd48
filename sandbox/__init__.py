"""Emulated vendors (Aircall REST, Jobber GraphQL) and a scenario driver.

They power the demo, the tests and the benchmarks.
"""
