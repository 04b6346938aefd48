"""Per-request execution context handed to every resolver (`info.context`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .phone_search import PhoneSearch
from .state import Account, Store


@dataclass
class AppInfo:
    """The one third-party app the sandbox emulates (the Aircall integration)."""

    id: str  # EncodedId of the Application
    app_id: str  # the UUID webhooks carry as `appId`
    name: str = "Aircall"
    author: str = "Aircall"


@dataclass
class Ctx:
    store: Store
    account: Account
    user_id: str
    grant_id: str
    app: AppInfo
    web_base: str
    phone_search: PhoneSearch = field(default_factory=PhoneSearch)  # how phone searches match
    notes_default_order: str = "newest"  # `notes` without `sort`: "newest" or "oldest" first (UNCONFIRMED)
    # (topic, item id) webhooks to send once the operation has run; the HTTP layer dispatches them.
    events: list[tuple[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
