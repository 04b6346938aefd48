"""What the admin's settings page reads from the vendors, cached a few minutes per integration so opening the
page does not eat the company's Aircall budget (cards need it) or Jobber's: the company's numbers
(`GET /v1/numbers`) and one real client for the card preview (two Jobber queries). A vendor that cannot be
reached is a sentence for the admin, not an error."""

from __future__ import annotations

import logging
from typing import Any

from clients.errors import VendorError
from config.settings import Settings
from flows.vendors import aircall_for, jobber_for
from store.integrations import Integration
from store.page_cache import PageCache
from store.redis import sync_client

log = logging.getLogger(__name__)

NUMBERS_UNAVAILABLE = "Your Aircall numbers could not be loaded just now; reload the page to try again."
PREVIEW_UNAVAILABLE = "Jobber could not be reached just now; the preview will be back shortly."


def company_numbers(integration: Integration, settings: Settings) -> tuple[list[dict[str, Any]], str]:
    """The company's Aircall numbers (`id`, `name`, `digits`), and why the list is empty if it could not be
    read."""
    try:
        found: list[dict[str, Any]] = PageCache(sync_client()).get_or_load(
            integration.id,
            "numbers",
            lambda: [n.__dict__ for n in aircall_for(integration, settings).numbers()],
        )
    except VendorError as exc:
        log.warning("settings.numbers_unavailable integration=%s error=%s", integration.id, exc)
        return [], NUMBERS_UNAVAILABLE
    return found, ""


def preview_client(integration: Integration, settings: Settings) -> tuple[dict[str, Any], str]:
    """A real client of the account (its `ClientCard` fields) for the card preview, or why there is none."""
    if integration.status != "active":
        return {}, "Connect Jobber to see a preview with one of your clients."

    def load() -> dict[str, Any]:
        jobber = jobber_for(integration, settings)
        ids = jobber.recent_client_ids(1)
        return jobber.client_card(ids[0]) if ids else {}

    try:
        client: dict[str, Any] = PageCache(sync_client()).get_or_load(integration.id, "client", load)
    except VendorError as exc:
        log.warning("settings.preview_unavailable integration=%s error=%s", integration.id, exc)
        return {}, PREVIEW_UNAVAILABLE
    return client, "" if client else "Your Jobber account has no clients yet to preview the card with."


def forget(integration_id: str) -> None:
    """Drop the cached reads (the admin changed something they show)."""
    PageCache(sync_client()).forget(integration_id)
