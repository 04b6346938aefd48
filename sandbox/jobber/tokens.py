"""Access tokens (HS256 JWTs signed with a sandbox key) and the token errors the HTTP layer maps to 401s.

Real Jobber access tokens are JWTs valid 60 minutes whose `exp` clients read without verifying (reference
§2.3). The claim set below beyond `exp`/`iat` is the sandbox's own choice (UNCONFIRMED).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any


class TokenError(Exception):
    """Bad signature, malformed or expired access token: HTTP 401 "Invalid Token Error"."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict[str, Any], key: bytes) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify(token: str, key: bytes, now: float | None = None) -> dict[str, Any]:
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise TokenError("bad signature")
        claims = json.loads(_unb64(payload))
    except (ValueError, json.JSONDecodeError) as exc:
        raise TokenError("malformed token") from exc
    if not isinstance(claims, dict) or "exp" not in claims:
        raise TokenError("malformed claims")
    if float(claims["exp"]) <= (time.time() if now is None else now):
        raise TokenError("expired")
    return claims


def make_access_token(
    key: bytes, *, account_id: str, user_id: str, grant_id: str, app_id: str, ttl_s: float
) -> str:
    now = int(time.time())
    claims = {
        "sub": user_id,
        "account_id": account_id,
        "app_id": app_id,
        "grant_id": grant_id,
        "iat": now,
        "exp": now + int(ttl_s) if ttl_s == int(ttl_s) else now + ttl_s,
        "jti": secrets.token_hex(8),
    }
    return sign(claims, key)


def new_refresh_token() -> str:
    # Opaque, like the reference's illustrative "5b2c0c...e1".
    return secrets.token_hex(24)


def new_auth_code() -> str:
    return secrets.token_urlsafe(24)
