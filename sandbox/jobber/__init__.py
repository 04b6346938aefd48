"""Emulated Jobber GraphQL API (sandbox): `create_app(**options)` and the webhook sender."""

from .app import create_app
from .webhooks import send_webhook, sign

__all__ = ["create_app", "send_webhook", "sign"]
