"""Jobber OAuth token endpoint (https://developer.getjobber.com/docs/building_your_app/app_authorization/).

Access tokens are JWTs valid ~60 min with no `expires_in` (jobber-api.md §2.3): the expiry is read from the
`exp` claim (decoded without verification, as Jobber's own Rails template does). Should a token answer carry
`expires_in` (UNCONFIRMED either way), it gives the expiry when the token has no readable `exp`; callers keep
that expiry with the token (`TokenPair.expires_at`). Refresh Token Rotation: every refresh returns a new
refresh token and the old one dies at once, so callers persist the pair before using it.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

from clients.errors import Disconnected, Permanent, Transient
from clients.http import Transport, json_or_empty, new_session, send

VENDOR = "jobber"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: float | None = None  # UNIX seconds: the JWT's `exp`, else now + `expires_in`, else unknown


def access_token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT access token (UNIX seconds), or None when it cannot be read."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def token_expiry(token: str, expires_in: object = None, now: float | None = None) -> float | None:
    """When an access token expires: its JWT `exp`, else `expires_in` seconds from now, else
    None (unknown)."""
    expiry = access_token_expiry(token)
    if expiry is not None:
        return expiry
    if not isinstance(expires_in, str | int | float):  # JSON: a number, maybe as text; else unknown
        return None
    try:
        seconds = float(expires_in)
    except ValueError:
        return None
    return (time.time() if now is None else now) + seconds if seconds > 0 else None


def expires_soon(
    token: str, margin_s: float = 300, now: float | None = None, expires_at: float | None = None
) -> bool:
    """Is the token within `margin_s` of expiring? Its JWT `exp` decides, else the `expires_at` kept with it;
    with neither, False (a 401 then triggers the refresh)."""
    expiry = access_token_expiry(token) or expires_at
    return expiry is not None and expiry - margin_s <= (time.time() if now is None else now)


def _token_request(
    oauth_url: str, form: dict[str, str], timeout: float, session: Transport | None
) -> TokenPair:
    response = send(session or new_session(), VENDOR, "POST", f"{oauth_url}/token", timeout, data=form)
    body = json_or_empty(response)
    if response.status_code >= 500:
        raise Transient(
            f"jobber oauth: HTTP {response.status_code}", vendor=VENDOR, status=response.status_code
        )
    if response.status_code in (400, 401, 403):
        # invalid_grant: the refresh token was rotated away, revoked or the app was disconnected.
        raise Disconnected(
            f"jobber oauth: {body.get('error') or response.status_code}",
            vendor=VENDOR,
            status=response.status_code,
        )
    if response.status_code >= 300 or not body.get("access_token") or not body.get("refresh_token"):
        raise Permanent(f"jobber oauth: unexpected answer HTTP {response.status_code}", vendor=VENDOR)
    access = str(body["access_token"])
    return TokenPair(access, str(body["refresh_token"]), token_expiry(access, body.get("expires_in")))


def refresh(
    oauth_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    *,
    timeout: float = 10.0,
    session: Transport | None = None,
) -> TokenPair:
    form = {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    return _token_request(oauth_url, form, timeout, session)


def exchange_code(
    oauth_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    *,
    timeout: float = 10.0,
) -> TokenPair:
    form = {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
    }
    return _token_request(oauth_url, form, timeout, None)
