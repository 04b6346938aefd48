"""Aircall REST adapter (https://developer.aircall.io/api-references).

Basic (api_id:api_token) or Bearer auth.

Errors: 429 → RateLimited (wait until X-AircallApi-Reset, a UNIX timestamp; bounded); 5xx / timeouts →
Transient; 401/403 → Disconnected (bad or revoked credentials), except a 403 from the
conversation-intelligence endpoints while the same credentials still work, which is FeatureUnavailable (the
plan lacks AI Assist); other 4xx → Permanent.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Protocol

from clients.errors import Disconnected, Permanent, RateLimited, Transient
from clients.http import Reply, Transport, _path, json_or_empty, new_session, send, shared_session
from clients.ratelimit import AIRCALL_MAX_WAIT_S, bounded, reset_wait, retry_after_wait

VENDOR = "aircall"
DEFAULT_RATE_WAIT_S = 60.0


class FeatureUnavailable(Permanent):
    """Aircall refused a feature of the company's plan (a 403 from an AI endpoint while `GET /v1/ping` still
    answers with the same credentials): not a lost connection, nothing to retry."""


class Budget(Protocol):
    """The per-company request budget shared by every worker (store.budgets.AircallBudget)."""

    max_inline_wait_s: float  # a longer wait parks the task (RateLimited) instead of sleeping in it

    def acquire(self) -> float:
        """Take one request from the budget (returns 0), or return the seconds until one may be taken."""

    def exhausted_until(self, reset_at: float) -> None:
        """Aircall said 429: nobody in the fleet calls this company before `reset_at`."""


@dataclass(frozen=True)
class InstalledIntegration:
    """`GET /v1/integrations/me` (aircall-api.md §8.2): the install as the OAuth token sees it."""

    company_id: str | None
    number_ids: list[int]
    active: bool


@dataclass(frozen=True)
class Number:
    id: int
    name: str
    digits: str
    country: str


@dataclass(frozen=True)
class CompanyIdentity:
    """`company_id`: Aircall's company id, or None when the credentials do not reveal it; `budget_key`: what
    the shared per-company rate budget is keyed on (the company id itself when known, else `numbers:<id>`,
    `users:<id>` or `key:<hash>`); `source`: how it was found."""

    company_id: str | None
    budget_key: str
    source: str


@dataclass(frozen=True)
class Webhook:
    id: str
    token: str
    url: str
    active: bool


class AircallClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_id: str | None = None,
        api_token: str | None = None,
        bearer_token: str | None = None,
        timeout: float = 10.0,
        session: Transport | None = None,
        budget: Budget | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.budget = budget
        self.timeout = timeout
        self.session = session or shared_session(VENDOR)
        if bearer_token:
            self._auth: Any = None
            self._headers = {"Authorization": f"Bearer {bearer_token}"}
        elif api_id and api_token:
            self._auth = (api_id, api_token)
            self._headers = {}
        else:
            raise ValueError("Aircall needs api_id + api_token, or an OAuth bearer token")

    # ---- transport -----------------------------------------------------------------------

    @staticmethod
    def _take_from_budget(budget: Budget) -> None:
        """Wait a moment for the company's budget, or raise RateLimited so the task is parked until then."""
        while (wait := budget.acquire()) > 0:
            if wait > budget.max_inline_wait_s:
                raise RateLimited("aircall: company request budget spent", retry_after=wait, vendor=VENDOR)
            time.sleep(wait)

    def request(self, method: str, path: str, **kw: Any) -> Any:
        if self.budget is not None:
            self._take_from_budget(self.budget)
        url = f"{self.base_url}{path}"
        response = send(
            self.session, VENDOR, method, url, self.timeout, auth=self._auth, headers=self._headers, **kw
        )
        status = response.status_code
        if status < 300:
            return json_or_empty(response) if response.content else {}
        body = json_or_empty(response)
        detail = (
            body.get("troubleshoot") or body.get("error") or response.reason if isinstance(body, dict) else ""
        )
        where = f"aircall {method} {_path(path)} -> {status}: {detail}"
        if status == 429:
            wait = rate_limit_wait(response)
            if self.budget is not None:
                self.budget.exhausted_until(time.time() + wait)
            raise RateLimited(where, retry_after=wait, vendor=VENDOR, status=status)
        if status >= 500:
            raise Transient(where, vendor=VENDOR, status=status)
        if status in (401, 403):
            raise Disconnected(where, vendor=VENDOR, status=status)
        raise Permanent(where, vendor=VENDOR, status=status)

    # ---- endpoints -------------------------------------------------------------------------

    def ping(self) -> bool:
        return bool(self.request("GET", "/v1/ping").get("ping") == "pong")

    def company_identity(self, api_id: str | None = None) -> CompanyIdentity:
        """Which Aircall company these credentials belong to: its rate budget is per company, shared by every
        key and app (aircall-api.md §7), so two integrations of one company must draw on one budget.

        Every reading is tried, in order (each UNCONFIRMED for API keys):
        1. `GET /v1/integrations/me` carries `company_id` (documented for OAuth tokens, §8.2); an API key may
           be refused (401/403/404): then
        2. `GET /v1/company`, should it carry an `id` (the documented object has none);
        3. the company's lowest number id, else its lowest user id: every key of a company lists the same
           numbers and users, and ids are only ever added, so the key is shared (the company id itself stays
           unknown; numbers and users document no `company_id` field, so none is read);
        4. else the API key itself: its integrations share nothing with other keys (see the README).
        """
        try:
            found = self.integration_me().company_id
            if found is not None:
                return CompanyIdentity(found, found, "integrations/me")
        except Permanent:  # refused for this kind of credentials (Disconnected is a Permanent)
            pass
        company = self.request("GET", "/v1/company").get("company") or {}
        if company.get("id") is not None:
            return CompanyIdentity(str(company["id"]), str(company["id"]), "company")
        numbers = [n.id for n in self.numbers()]
        if numbers:
            return CompanyIdentity(None, f"numbers:{min(numbers)}", "numbers")
        users = self.request("GET", "/v1/users", params={"order": "asc", "per_page": 50}).get("users") or []
        user_ids = [int(u["id"]) for u in users if isinstance(u, dict) and isinstance(u.get("id"), int)]
        if user_ids:
            return CompanyIdentity(None, f"users:{min(user_ids)}", "users")
        digest = hashlib.sha256((api_id or self._credential_id()).encode()).hexdigest()[:16]
        return CompanyIdentity(None, f"key:{digest}", "credentials")

    def _credential_id(self) -> str:
        return str(self._auth[0]) if self._auth else self._headers.get("Authorization", "")

    def create_webhook(self, url: str, custom_name: str, events: list[str] | None = None) -> Webhook:
        """POST /v1/webhooks. `events` omitted = all events (aircall-api.md §8.3)."""
        body: dict[str, Any] = {"url": url, "custom_name": custom_name}
        if events:
            body["events"] = events
        return _webhook(self.request("POST", "/v1/webhooks", json=body)["webhook"])

    def get_webhook(self, webhook_id: str) -> Webhook:
        return _webhook(self.request("GET", f"/v1/webhooks/{webhook_id}")["webhook"])

    def enable_webhook(self, webhook_id: str) -> Webhook:
        return _webhook(self.request("PUT", f"/v1/webhooks/{webhook_id}", json={"active": True})["webhook"])

    def post_insight_card(self, call_id: int | str, contents: list[dict[str, Any]]) -> None:
        """POST /v1/calls/:id/insight_cards (aircall-api.md §4): shown in the agent's phone app while the
        call is ongoing; after it ends the call is refused (the exact error is UNCONFIRMED)."""
        self.request("POST", f"/v1/calls/{call_id}/insight_cards", json={"contents": contents})

    def conversation_intelligence(self, call_id: int | str, kind: str) -> dict[str, Any]:
        """GET /v1/calls/:id/<kind> (aircall-api.md §6). Aircall answers 404 until the content is generated,
        so a 404 here is Transient (retried with backoff), not Permanent.

        403 means either "the plan lacks the feature" (or the company is not active or verified, §6) or bad
        credentials (§7: "403 = Invalid API key or Bearer access token"); the body that tells them apart is
        undocumented. So the credentials are tried on `GET /v1/ping`: when they work, the 403 is about the
        feature (FeatureUnavailable); when they do not, ping raises Disconnected."""
        try:
            body: dict[str, Any] = self.request("GET", f"/v1/calls/{call_id}/{kind}")
        except Disconnected as exc:
            if exc.status == 403 and self.ping():
                raise FeatureUnavailable(str(exc), vendor=VENDOR, status=403) from None
            raise
        except Permanent as exc:
            if exc.status == 404:
                raise Transient(
                    f"aircall {kind} for call {call_id}: not generated yet", vendor=VENDOR, status=404
                ) from None
            raise
        return body

    # ---- calls (aircall-api.md §2) ------------------------------------------------------------------------

    def list_calls(self, since: float, until: float, page: int = 1, per_page: int = 50) -> dict[str, Any]:
        """One page of the calls started in [since, until], oldest first (`GET /v1/calls`):
        `{calls, meta}`."""
        body: dict[str, Any] = self.request(
            "GET",
            "/v1/calls",
            params={"from": int(since), "to": int(until), "order": "asc", "per_page": per_page, "page": page},
        )
        return body

    # ---- contacts (aircall-api.md §5) ---------------------------------------------------------------------

    def search_contacts(self, phone_number: str) -> list[dict[str, Any]]:
        """Contacts with this number (`GET /v1/contacts/search`), the first 50 (one page: a number is rarely
        on more contacts); eventually consistent (aircall-api.md §5)."""
        body: dict[str, Any] = self.request(
            "GET", "/v1/contacts/search", params={"phone_number": phone_number, "per_page": 50}
        )
        return list(body.get("contacts") or [])

    def get_contact(self, contact_id: str) -> dict[str, Any] | None:
        try:
            contact: dict[str, Any] = self.request("GET", f"/v1/contacts/{contact_id}")["contact"]
        except Permanent as exc:
            if exc.status == 404:
                return None
            raise
        return contact

    def create_contact(self, fields: dict[str, str], phones: list[tuple[str, str]]) -> dict[str, Any]:
        body = {**fields, "phone_numbers": [{"label": label, "value": value} for label, value in phones]}
        contact: dict[str, Any] = self.request("POST", "/v1/contacts", json=body)["contact"]
        return contact

    def update_contact(self, contact_id: str, fields: dict[str, str]) -> None:
        """POST (not PUT) /v1/contacts/:id: name, company, information only; phones are not touched."""
        self.request("POST", f"/v1/contacts/{contact_id}", json=fields)

    def add_contact_phone(self, contact_id: str, label: str, value: str) -> None:
        self.request(
            "POST", f"/v1/contacts/{contact_id}/phone_details", json={"label": label, "value": value}
        )

    def delete_contact_phone(self, contact_id: str, phone_id: str) -> None:
        self.request("DELETE", f"/v1/contacts/{contact_id}/phone_details/{phone_id}")

    def delete_contact(self, contact_id: str) -> None:
        try:
            self.request("DELETE", f"/v1/contacts/{contact_id}")
        except Permanent as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise

    def delete_webhook(self, webhook_id: str) -> None:
        try:
            self.request("DELETE", f"/v1/webhooks/{webhook_id}")
        except Permanent as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise

    # ---- the install itself (OAuth apps; aircall-api.md §8.2) --------------------------------------------

    def integration_me(self) -> InstalledIntegration:
        """The numbers the admin chose when installing, and the company. The body may be wrapped in
        `integration` (jiminny/oauth2-aircall reads it so) or not: both are read (UNCONFIRMED)."""
        body = self.request("GET", "/v1/integrations/me")
        me = body.get("integration") if isinstance(body.get("integration"), dict) else body
        ids = [int(n) for n in me.get("number_ids") or [] if str(n).isascii() and str(n).isdigit()]
        company = me.get("company_id")
        return InstalledIntegration(
            company_id=str(company) if company is not None else None,
            number_ids=ids,
            active=bool(me.get("active", True)),
        )

    def set_integration_active(self, active: bool) -> None:
        """POST /v1/integrations/enable | disable: how the install shows in the admin's Aircall Dashboard."""
        self.request("POST", f"/v1/integrations/{'enable' if active else 'disable'}")

    def numbers(self, max_pages: int = 20) -> list[Number]:
        """The company's numbers (`GET /v1/numbers`, paginated by `meta.next_page_link`), oldest first."""
        found: list[Number] = []
        for page in range(1, max_pages + 1):
            body = self.request("GET", "/v1/numbers", params={"page": page, "per_page": 50, "order": "asc"})
            for n in body.get("numbers") or []:
                found.append(
                    Number(
                        id=int(n["id"]),
                        name=str(n.get("name") or ""),
                        digits=str(n.get("digits") or ""),
                        country=str(n.get("country") or ""),
                    )
                )
            if not (body.get("meta") or {}).get("next_page_link"):
                break
        return found


def _webhook(w: dict[str, Any]) -> Webhook:
    return Webhook(
        id=str(w["webhook_id"]),
        token=str(w.get("token") or ""),
        url=w.get("url", ""),
        active=bool(w.get("active", True)),
    )


def rate_limit_wait(response: Reply, now: float | None = None) -> float:
    """Seconds until Aircall's window resets: X-AircallApi-Reset (a UNIX timestamp, seconds or milliseconds),
    else Retry-After (UNCONFIRMED header; seconds or an HTTP-date), else 60 s; never more than
    AIRCALL_MAX_WAIT_S (clients.ratelimit)."""
    now = time.time() if now is None else now
    wait = reset_wait(response.headers.get("X-AircallApi-Reset"), now)
    if wait is None:
        wait = retry_after_wait(response.headers.get("Retry-After"), now)
    return bounded(DEFAULT_RATE_WAIT_S if wait is None else wait, AIRCALL_MAX_WAIT_S)


def exchange_oauth_code(
    api_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str, timeout: float = 10.0
) -> str:
    """POST /v1/oauth/token (aircall-api.md §8.2): client credentials in the JSON body; the access token is
    permanent (no refresh token). Fields beyond `access_token` are UNCONFIRMED and not read."""
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    response = send(
        new_session(), VENDOR, "POST", f"{api_url.rstrip('/')}/v1/oauth/token", timeout, json=body
    )
    if response.status_code >= 500:
        raise Transient(
            f"aircall oauth: HTTP {response.status_code}", vendor=VENDOR, status=response.status_code
        )
    token = json_or_empty(response).get("access_token") if response.status_code < 300 else None
    if not token:
        raise Permanent(
            f"aircall oauth: code refused (HTTP {response.status_code})",
            vendor=VENDOR,
            status=response.status_code,
        )
    return str(token)
