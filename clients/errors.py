"""Vendor error types. The retry policy (worker.retry) acts on the type, never on status codes."""

from __future__ import annotations


class VendorError(Exception):
    """Base class: a vendor call did not do what was asked."""

    def __init__(self, message: str, *, vendor: str = "", status: int | None = None):
        super().__init__(message)
        self.vendor = vendor
        self.status = status


class Transient(VendorError):
    """Worth retrying with backoff: timeouts, connection errors, 5xx, "Service temporarily unavailable"."""


class RateLimited(Transient):
    """The vendor asked us to wait (429, THROTTLED). Waiting does not spend a retry attempt."""

    def __init__(self, message: str, *, retry_after: float, vendor: str = "", status: int | None = None):
        super().__init__(message, vendor=vendor, status=status)
        self.retry_after = max(0.0, retry_after)


class Permanent(VendorError):
    """Retrying cannot help: bad request, unknown object, validation errors (userErrors)."""


class Disconnected(Permanent):
    """The tenant's vendor connection is gone (revoked token, disconnected app, inactive account)."""
