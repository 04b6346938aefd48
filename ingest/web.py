"""What every admin page shares: Jinja2 templates, the session cookie, CSRF checks and security headers.

The session cookie is HttpOnly and SameSite=Lax, and Secure when PUBLIC_URL is https; so are the cookie that
points at a Jobber connection waiting in this browser and the sign-in page's form cookie. Every POST carries
the session's CSRF token (the sign-in form, which has no session yet, its own); pages are never cached, never
framed, and send no Referer (a sign-in token is in the login URL). Nothing here calls a vendor.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from config.settings import Settings
from store.redis import sync_client
from store.sessions import SESSION_MAX_S, Session, SessionStore

SESSION_COOKIE = "aj_session"
INSTALL_COOKIE = "aj_install"  # binds an Aircall install's OAuth state to the browser that started it
PENDING_COOKIE = "aj_jobber_pending"  # this browser's reference to a Jobber connection waiting for an admin
LOGIN_COOKIE = "aj_login"  # the sign-in form's double-submit value: a cross-site POST cannot sign anyone in
CSRF_FIELD = "csrf_token"

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def sessions_of(request: Request) -> SessionStore:
    settings = settings_of(request)
    return SessionStore(sync_client(settings.REDIS_URL), settings.secret_key())


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def message_page(request: Request, title: str, *paragraphs: str, status: int = 200, **extra: Any) -> Response:
    """A short page that says what happened and what to do next."""
    return render(request, "message.html", status, title=title, paragraphs=paragraphs, **extra)


def is_https(settings: Settings) -> bool:
    return settings.PUBLIC_URL.startswith("https://")


def set_session_cookie(response: Response, settings: Settings, cookie: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_MAX_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(settings),
    )


def set_pending_cookie(response: Response, settings: Settings, reference: str, max_age: int) -> None:
    response.set_cookie(
        PENDING_COOKIE,
        reference,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(settings),
    )


def clear_pending_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(PENDING_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(settings))


def redirect(url: str) -> Response:
    """303 to a page of ours, sending no Referer: the URL being left may hold an OAuth code."""
    return RedirectResponse(url, 303, headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(settings))


def current_session(request: Request) -> Session | None:
    return sessions_of(request).get(request.cookies.get(SESSION_COOKIE))


def signed_out(request: Request) -> Response:
    return message_page(
        request,
        "Please sign in",
        "This page belongs to an integration's administrator. Open it from Aircall (Integrations → "
        "Jobber → Settings), or ask your operator for a sign-in link.",
        status=401,
    )


def csrf_ok(session: Session, form: Any) -> bool:
    sent = form.get(CSRF_FIELD) if form is not None else None
    return isinstance(sent, str) and bool(sent) and hmac.compare_digest(sent, session.csrf_token)


def csrf_refused(request: Request) -> Response:
    return message_page(
        request,
        "This form has expired",
        "Nothing was changed. Go back to the settings page, reload it and try again.",
        status=403,
    )
