"""Test support: a private redis-server, fake vendors, polling helpers."""
