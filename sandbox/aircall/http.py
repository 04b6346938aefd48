"""Request plumbing for the emulated Aircall REST API: errors in Aircall's shapes, Basic/Bearer auth,
the per-company rate limit (and the `throttle` fault), request counting and pagination."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.aircall.state import Company, State
from sandbox.common import Faults


@dataclass
class Options:
    """Emulator behaviour knobs (see `create_app`)."""

    rate_limit_per_min: int = 60
    rate_window_s: float = 60.0
    rate_mode: str = "fixed"  # "fixed" | "sliding"
    # UNCONFIRMED whether Aircall sends X-AircallApi-* on every response: the docs describe them "when the
    # rate limit has been reached" and a live probe saw none on a 200. Default "limited" = only on 429, so
    # client code cannot come to rely on them; "always" adds them to every authenticated response.
    rate_headers: str = "limited"
    # UNCONFIRMED what Aircall answers for an insight card on a call that has ended. We answer 400 by
    # default (clients must treat it as permanent and not retry); None accepts the card anyway.
    ended_call_card_status: int | None = 400
    require_https_webhooks: bool = False  # real Aircall enforces https; local demos use http://127.0.0.1
    max_webhooks: int = 100
    contact_requires_phone: bool = True  # per Pipedream's schema (UNCONFIRMED as an API rule)
    search_delay_s: float = 0.0  # contact search is eventually consistent on Aircall; >0 emulates it
    link_base: str = "https://api.aircall.io"  # base of `direct_link` fields (identity, like the vendor)
    # Lists page through at most this many items (reference §2, §5: "paging stops at 10,000 items; use from/to
    # windows"); changeable at run time (`POST /_sandbox/paging`), so a test can meet it with
    # a few hundred calls.
    paging_ceiling: int = 10_000


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, troubleshoot: str = "", headers: dict[str, str] | None = None
    ):
        super().__init__(error)
        self.status, self.error, self.troubleshoot, self.headers = status, error, troubleshoot, headers or {}

    def response(self) -> Response:
        return JSONResponse(
            {"error": self.error, "troubleshoot": self.troubleshoot}, self.status, self.headers
        )


def bad_request(troubleshoot: str) -> ApiError:
    return ApiError(400, "Bad Request", troubleshoot)


def not_found(what: str) -> ApiError:
    return ApiError(404, "Not Found", f"{what} not found")


@dataclass
class Ctx:
    request: Request
    company: Company
    state: State
    options: Options
    oauth_token: str | None  # the Bearer token used, None with Basic auth

    async def body(self) -> dict[str, Any]:
        raw = await self.request.body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise bad_request("Body is not valid JSON") from None
        if not isinstance(data, dict):
            raise bad_request("Body must be a JSON object")
        return data

    def query_int(self, name: str, default: int, lo: int = 1, hi: int | None = None) -> int:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"{name} must be an integer") from None
        if value < lo or (hi is not None and value > hi):
            raise bad_request(f"{name} must be between {lo} and {hi}" if hi else f"{name} must be >= {lo}")
        return value


Handler = Callable[[Ctx], Awaitable[Response]]

_INVALID_CREDENTIALS = "Invalid API key or Bearer access token"


def authenticate(request: Request, state: State) -> tuple[Company, str | None]:
    """Basic `api_id:api_token` or OAuth Bearer. Bad or missing credentials -> 403 (reference §7:
    "403 = Invalid API key or Bearer access token"; UNCONFIRMED whether a *missing* header is 401)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            api_id, _, api_token = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(403, "Forbidden", _INVALID_CREDENTIALS) from None
        found = state.company_by_api_id(api_id)
        if found and secrets.compare_digest(found[1].encode(), api_token.encode()):
            return found[0], None
    elif scheme.lower() == "bearer":
        company = state.company_by_token(value.strip())
        if company is not None:
            return company, value.strip()
    raise ApiError(403, "Forbidden", _INVALID_CREDENTIALS)


def rate_headers(limit: int, remaining: int, reset_at: float, unit: str = "s") -> dict[str, str]:
    # A UNIX timestamp rounded up so "sleep until" is safe; seconds, or milliseconds when the company says so.
    reset = int(reset_at * 1000 + 0.999) if unit == "ms" else int(reset_at + 0.999)
    return {
        "X-AircallApi-Limit": str(limit),
        "X-AircallApi-Remaining": str(remaining),
        "X-AircallApi-Reset": str(reset),
    }


def api(label: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with auth, throttle fault, per-company rate limit, counting and error rendering."""

    async def endpoint(request: Request) -> Response:
        state: State = request.app.state.aircall
        options: Options = request.app.state.options
        faults: Faults = request.app.state.faults
        try:
            company, token = authenticate(request, state)
            now = time.time()
            with state.lock:
                company.requests_total += 1
                company.requests_by_route[label] = company.requests_by_route.get(label, 0) + 1
                if faults.throttle:
                    allowed, (remaining, reset_at) = False, company.rate.peek(now)
                    remaining = 0
                else:
                    allowed, remaining, reset_at = company.rate.take(now)
                headers = rate_headers(company.rate.limit, remaining, reset_at, company.rate.reset_unit)
                if not allowed:
                    company.requests_limited += 1
                    # UNCONFIRMED whether Retry-After is sent; not sent, so clients use the Reset header.
                    raise ApiError(
                        429,
                        "Too Many Requests",
                        "Rate limit reached, retry after X-AircallApi-Reset",
                        headers,
                    )
            response = await handler(Ctx(request, company, state, options, token))
            if options.rate_headers == "always":
                response.headers.update(headers)
            return response
        except ApiError as exc:
            return exc.response()

    return endpoint


def page_meta(ctx: Ctx, total: int, page: int, per_page: int, count: int) -> dict[str, Any]:
    """Aircall's list `meta`, with followable next/previous links built on the request's own base URL."""

    def link(p: int) -> str:
        params = dict(ctx.request.query_params)
        params.update(page=str(p), per_page=str(per_page))
        return f"{str(ctx.request.base_url).rstrip('/')}{ctx.request.url.path}?{urlencode(params)}"

    has_next = page * per_page < min(total, paging_ceiling(ctx))
    return {
        "count": count,
        "total": total,
        "current_page": page,
        "per_page": per_page,
        "next_page_link": link(page + 1) if has_next else None,
        "previous_page_link": link(page - 1) if page > 1 else None,
    }


def paging_ceiling(ctx: Ctx) -> int:
    """How many items a list pages through: the run-time knob, else the option (10,000 like Aircall)."""
    return ctx.state.paging_ceiling or ctx.options.paging_ceiling


def paginate(ctx: Ctx, items: list[Any], default_per_page: int = 20) -> tuple[list[Any], dict[str, Any]]:
    """Slice by `page`/`per_page` (1..50, UNCONFIRMED: out-of-range per_page is refused rather than clamped,
    so clients cannot depend on a lenient server). Paging stops at the ceiling (10,000 items): the last page
    within it has no `next_page_link`, `meta.total` still counts every item of the window, and a page beyond
    is refused (what Aircall answers there is UNCONFIRMED; refusing keeps clients from relying on more)."""
    page = ctx.query_int("page", 1)
    per_page = ctx.query_int("per_page", default_per_page, 1, 50)
    ceiling = paging_ceiling(ctx)
    if (page - 1) * per_page >= ceiling:
        raise bad_request(f"Pagination is limited to {ceiling:,} items; narrow the from/to window")
    chunk = items[(page - 1) * per_page : page * per_page]
    return chunk, page_meta(ctx, len(items), page, per_page, len(chunk))


def order_items(ctx: Ctx, items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    order = ctx.request.query_params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise bad_request("order must be asc or desc")
    return sorted(items, key=lambda i: (i.get(key) or 0, i.get("id") or 0), reverse=order == "desc")


def time_window(ctx: Ctx, items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """`from` / `to` filters on a UNIX-seconds field."""
    lo = ctx.query_int("from", 0, 0)
    hi = ctx.query_int("to", 2**62, 0)
    return [i for i in items if lo <= int(i.get(key) or 0) <= hi]
