"""The errors a flow lets through to its callers (the ingest's pages, `ajctl`): callers catch these, from
here, and never import the vendor adapters themselves."""

from __future__ import annotations

from clients.errors import VendorError

__all__ = ["VendorError"]
