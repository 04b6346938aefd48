"""Who may read the operator routes on the public webhook port (today `/metrics`).

With METRICS_TOKEN set, everyone must present it as a bearer token (Prometheus' `authorization` setting).
Without it, only loopback peers are served: a scraper on the same host, or `curl` on the box. uvicorn takes
the peer from X-Forwarded-For when the connection comes from a trusted proxy (FORWARDED_ALLOW_IPS, loopback
by default), so a reverse proxy on the same host that forwards X-Forwarded-For does not make every visitor
look local.
"""

from __future__ import annotations

import hmac
import ipaddress


def is_loopback(host: str | None) -> bool:
    """The peer address is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x). Names are not trusted."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def bearer_ok(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time (as bytes: the header may be any text)."""
    scheme, _, presented = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8", "replace"), token.encode())


def refusal(authorization: str | None, peer: str | None, token: str | None) -> tuple[int, str] | None:
    """None when the operator route may be served, else (status, message)."""
    if token:
        return None if bearer_ok(authorization, token) else (401, "a bearer token is required")
    if is_loopback(peer):
        return None
    return 403, "served to loopback peers only; set METRICS_TOKEN to scrape from elsewhere"
