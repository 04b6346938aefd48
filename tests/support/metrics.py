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


def value(text: str, name: str, **labels: str) -> float | None:
    """The sample `name{labels}` of a /metrics page (labels matched exactly), or None when absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def values(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of `name` on a /metrics page, by its sorted labels."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        tuple(sorted(sample.labels.items())): float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }
