"""In-memory, thread-safe state of the Aircall emulator: companies, their credentials, webhooks, calls,
insight cards, AI content, contacts, numbers, users, OAuth codes/tokens, and per-company rate windows.

Everything lives behind one re-entrant lock (`State.lock`); request handlers take it for the whole
read-modify-write so concurrent workers see a consistent emulator. Objects are stored as plain dicts
in the vendor's JSON shape (webhook flavour for calls), so handlers can return them almost as they are.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Every webhook event a company can subscribe to (reference §1.4). A webhook created with no events
# is subscribed to all of them.
ALL_EVENTS: tuple[str, ...] = (
    "call.created",
    "call.ringing_on_agent",
    "call.agent_declined",
    "call.answered",
    "call.transferred",
    "call.external_transferred",
    "call.unsuccessful_transfer",
    "call.hungup",
    "call.ended",
    "call.hold",
    "call.unhold",
    "call.ivr_option_selected",
    "call.voicemail_left",
    "call.comm_assets_generated",
    "call.assigned",
    "call.archived",
    "call.tagged",
    "call.untagged",
    "call.commented",
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "number.created",
    "number.opened",
    "number.closed",
    "number.deleted",
    "user.created.v2",
    "user.deleted.v2",
    "user.connected.v2",
    "user.disconnected.v2",
    "user.opened.v2",
    "user.closed.v2",
    "user.wut_start.v2",
    "user.wut_end.v2",
    # v1 user names are deprecated but still accepted.
    "user.created",
    "user.deleted",
    "user.connected",
    "user.disconnected",
    "user.opened",
    "user.closed",
    "user.wut_start",
    "user.wut_end",
    "message.sent",
    "message.received",
    "message.status_updated",
    "group_message.sent",
    "group_message.received",
    "group_message.status_updated",
    "transcription.created",
    "summary.created",
    "topics.created",
    "sentiment.created",
    "action_item.created",
    "playbook_result.created",
    "playbook_result.updated",
    "realtime_transcription.utterances_received",
    "custom_summary.result_created",
    "custom_summary.result_updated",
    "call_evaluation.created",
    "call_evaluation.updated",
    "ai_voice_agent.started",
    "ai_voice_agent.ended",
    "ai_voice_agent.escalated",
    "ai_voice_agent.summary",
    "analytics.report_created",
    "analytics.report_failed",
    "integration.deleted",
)

AI_KINDS: tuple[str, ...] = ("transcription", "summary", "topics", "sentiments", "action_items")

DEFAULT_NUMBERS: tuple[dict[str, Any], ...] = (
    {"name": "Support line", "e164": "+14155550199", "country": "US", "time_zone": "America/Los_Angeles"},
)
DEFAULT_USERS: tuple[dict[str, Any], ...] = (
    {"name": "Madelaine Dupont", "email": "madelaine@acme.com"},
    {"name": "Joe Bloggs", "email": "joe@acme.com"},
)


def iso_now(ts: float | None = None) -> str:
    """Aircall's ISO timestamp style for webhooks: `2020-03-24T19:51:24.000Z`."""
    t = time.gmtime(time.time() if ts is None else ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", t)


@dataclass
class RateWindow:
    """Per-company request budget. `mode` fixed: counter reset at each window boundary;
    sliding: the last `window_s` seconds of accepted requests are counted."""

    limit: int
    window_s: float
    mode: str = "fixed"
    reset_unit: str = "s"  # X-AircallApi-Reset in UNIX seconds or "ms" (UNCONFIRMED which Aircall uses)
    window_start: float = 0.0
    count: int = 0
    hits: deque[float] = field(default_factory=deque)

    def take(self, now: float) -> tuple[bool, int, float]:
        """Try to spend one request. Returns (allowed, remaining, reset_at_epoch_s)."""
        if self.mode == "sliding":
            while self.hits and self.hits[0] <= now - self.window_s:
                self.hits.popleft()
            if len(self.hits) >= self.limit:
                return False, 0, self.hits[0] + self.window_s
            self.hits.append(now)
            reset = self.hits[0] + self.window_s
            return True, self.limit - len(self.hits), reset
        # Fixed window: opens at the first request after the previous one closed (UNCONFIRMED: Aircall
        # may align windows to wall-clock minutes; clients must only trust X-AircallApi-Reset anyway).
        if now >= self.window_start + self.window_s:
            self.window_start, self.count = now, 0
        reset = self.window_start + self.window_s
        if self.count >= self.limit:
            return False, 0, reset
        self.count += 1
        return True, self.limit - self.count, reset

    def peek(self, now: float) -> tuple[int, float]:
        """(remaining, reset_at) without spending: used for headers on throttled responses."""
        if self.mode == "sliding":
            live = [h for h in self.hits if h > now - self.window_s]
            return max(0, self.limit - len(live)), (live[0] + self.window_s) if live else now + self.window_s
        if now >= self.window_start + self.window_s:
            return self.limit, now + self.window_s
        return max(0, self.limit - self.count), self.window_start + self.window_s


@dataclass
class Company:
    id: int
    name: str
    api_keys: dict[str, str]  # api_id -> api_token
    rate: RateWindow
    ai_assist: bool = True
    # UNCONFIRMED whether /v1/integrations/me answers an API key (the reference documents it for OAuth
    # tokens): refused (403) by default, so the product must find the company another way; True answers it.
    integrations_me_for_api_keys: bool = False
    numbers: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # webhook_id (uuid) -> webhook
    webhook_owner: dict[str, str | None] = field(default_factory=dict)  # webhook_id -> oauth token or None
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    insight_cards: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    comments_posted: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    ai: dict[int, dict[str, Any]] = field(default_factory=dict)  # call_id -> {kind: REST body}
    integration: dict[str, Any] = field(default_factory=dict)
    requests_total: int = 0
    requests_limited: int = 0
    requests_by_route: dict[str, int] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)


@dataclass
class OAuthCode:
    code: str
    client_id: str
    redirect_uri: str
    company_id: int
    expires_at: float
    used: bool = False
    number_ids: list[int] = field(default_factory=list)


class State:
    """The emulator's whole world. Use `with state.lock:` around multi-step changes."""

    def __init__(
        self, *, rate_limit_per_min: int = 60, rate_window_s: float = 60.0, rate_mode: str = "fixed"
    ):
        self.lock = threading.RLock()
        self.rate_limit_per_min = rate_limit_per_min
        self.rate_window_s = rate_window_s
        self.rate_mode = rate_mode
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.paging_ceiling: int | None = None  # run-time override of Options.paging_ceiling
            self.companies: dict[int, Company] = {}
            self.oauth_clients: dict[str, str] = {"sandbox-client-id": "sandbox-client-secret"}
            self.oauth_codes: dict[str, OAuthCode] = {}
            self.oauth_tokens: dict[str, int] = {}  # access token -> company id
            self._ids = {
                k: itertools.count(start)
                for k, start in {
                    "company": 1,
                    "number": 476258,
                    "user": 456,
                    "contact": 1000,
                    "detail": 5000,
                    "webhook_legacy": 26316,
                    "call": 1_900_000_000,
                    "ai": 68271,
                    "comment": 300,
                }.items()
            }

    def next_id(self, kind: str) -> int:
        with self.lock:
            return next(self._ids[kind])

    # --- companies -------------------------------------------------------------------------------------

    def create_company(
        self,
        *,
        name: str | None = None,
        numbers: list[dict[str, Any]] | None = None,
        users: list[dict[str, Any]] | None = None,
        api_id: str | None = None,
        api_token: str | None = None,
        rate_limit_per_min: int | None = None,
        ai_assist: bool = True,
    ) -> Company:
        with self.lock:
            cid = self.next_id("company")
            company = Company(
                id=cid,
                name=name or f"Sandbox Company {cid}",
                api_keys={api_id or secrets.token_hex(16): api_token or secrets.token_hex(16)},
                rate=RateWindow(
                    limit=rate_limit_per_min or self.rate_limit_per_min,
                    window_s=self.rate_window_s,
                    mode=self.rate_mode,
                ),
                ai_assist=ai_assist,
            )
            for spec in numbers if numbers is not None else DEFAULT_NUMBERS:
                number = make_number(self.next_id("number") if "id" not in spec else int(spec["id"]), spec)
                company.numbers[number["id"]] = number
            for spec in users if users is not None else DEFAULT_USERS:
                user = make_user(self.next_id("user") if "id" not in spec else int(spec["id"]), spec)
                company.users[user["id"]] = user
            company.integration = {
                "name": "Jobber (sandbox)",
                "custom_name": None,
                "logo": None,
                "company_id": cid,
                "status": "active",
                "active": True,
            }
            self.companies[cid] = company
            return company

    def company_by_api_id(self, api_id: str) -> tuple[Company, str] | None:
        with self.lock:
            for company in self.companies.values():
                if api_id in company.api_keys:
                    return company, company.api_keys[api_id]
        return None

    def company_by_token(self, token: str) -> Company | None:
        with self.lock:
            cid = self.oauth_tokens.get(token)
            return self.companies.get(cid) if cid is not None else None

    def company_by_webhook_token(self, token: str) -> Company | None:
        with self.lock:
            for company in self.companies.values():
                if any(secrets.compare_digest(w["token"], token) for w in company.webhooks.values()):
                    return company
        return None

    def company_by_number(self, number_id: int) -> Company | None:
        with self.lock:
            for company in self.companies.values():
                if number_id in company.numbers:
                    return company
        return None

    def company_by_call(self, call_id: int) -> Company | None:
        with self.lock:
            for company in self.companies.values():
                if call_id in company.calls:
                    return company
        return None

    def mint_oauth_token(self, company: Company) -> str:
        with self.lock:
            token = secrets.token_urlsafe(32)
            self.oauth_tokens[token] = company.id
            return token


def make_number(number_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    """A Number object (webhook flavour: with `e164_digits`; the REST layer strips it)."""
    from sandbox.aircall.phones import display_format, to_e164

    e164 = to_e164(spec.get("e164") or spec.get("e164_digits") or spec.get("digits") or "+14155550199")
    return {
        "id": number_id,
        "direct_link": f"https://api.aircall.io/v1/numbers/{number_id}",
        "name": spec.get("name", "Support line"),
        "digits": display_format(e164),
        "e164_digits": e164,
        "country": spec.get("country", "US"),
        "time_zone": spec.get("time_zone", "America/Los_Angeles"),
        "open": True,
        "availability_status": "open",
        "is_ivr": False,
        "live_recording_activated": False,
        "priority": None,
        "messages": {},
        "created_at": iso_now(),
    }


def make_user(user_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    name = spec.get("name", f"Agent {user_id}")
    return {
        "id": user_id,
        "direct_link": f"https://api.aircall.io/v1/users/{user_id}",
        "name": name,
        "email": spec.get("email", f"agent{user_id}@example.com"),
        "available": True,
        "availability_status": "available",
        "substatus": "always_opened",
        "time_zone": spec.get("time_zone", "America/Los_Angeles"),
        "language": "en-US",
        "wrap_up_time": 0,
        "created_at": iso_now(),
    }


def new_webhook_token() -> str:
    return secrets.token_hex(16)


def new_uuid() -> str:
    return str(uuid.uuid4())
