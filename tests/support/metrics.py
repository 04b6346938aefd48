"""Scraping the ingest's /metrics as Prometheus does: with the suite's METRICS_TOKEN (tests/conftest.py)."""

from __future__ import annotations

import requests

METRICS_TOKEN = "test-metrics-token-for-the-suite"


def scrape(base_url: str) -> str:
    """The Prometheus text of the ingest at `base_url` (fails loudly when refused)."""
    response = requests.get(
        f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
    )
    response.raise_for_status()
    return response.text
