"""Who may read the operator routes on the public webhook port (today `/metrics`): whoever presents
METRICS_TOKEN as a bearer token (Prometheus' `authorization` setting), and nobody without it.

The peer's address grants nothing: it is rewritten from X-Forwarded-For (ingest/app.py `Ingest`, uvicorn's
middleware) for every connection from an address in FORWARDED_ALLOW_IPS (`*` behind a load balancer), so
any visitor can claim to be 127.0.0.1. Without
METRICS_TOKEN the route is closed to everyone (`make run` sets one; README "Operator surfaces").
"""

from __future__ import annotations

import hmac


def bearer_ok(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time (as bytes: the header may be any text)."""
    scheme, _, presented = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8", "replace"), token.encode())


def refusal(authorization: str | None, token: str | None) -> tuple[int, str] | None:
    """None when the operator route may be served, else (status, message)."""
    if not token:
        return 403, "closed: set METRICS_TOKEN and scrape with it as a bearer token"
    return None if bearer_ok(authorization, token) else (401, "a bearer token is required")
