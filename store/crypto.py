"""Encryption of stored secrets (vendor tokens) and of OAuth `state`: Fernet with keys derived from SECRET_KEY
by HKDF (one key per purpose)."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class DecryptError(RuntimeError):
    """A stored secret cannot be decrypted: SECRET_KEY changed or the value was tampered with."""


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"aj/token-encryption/v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, plaintext: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode()


def decrypt(secret_key: str, ciphertext: str) -> str:
    try:
        return _fernet(secret_key).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptError("stored secret cannot be decrypted (was SECRET_KEY changed?)") from None


def token_hash(token: str) -> str:
    """Lookup key for a webhook token. Looking up a SHA-256 digest leaks nothing usable about the token
    through timing, which is what makes the tenant lookup constant-time in effect (aircall-api.md §1.2)."""
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache(maxsize=8)
def _state_fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"aj/oauth-state/v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal_state(secret_key: str, payload: dict[str, str]) -> str:
    """An OAuth `state`: the payload, encrypted and authenticated, with its creation time (Fernet)."""
    return _state_fernet(secret_key).encrypt(json.dumps(payload).encode()).decode()


def open_state(secret_key: str, state: str, max_age_s: int = 900) -> dict[str, str] | None:
    """The payload of a `state` we issued in the last `max_age_s` seconds, else None (forged or stale)."""
    try:
        doc = json.loads(_state_fernet(secret_key).decrypt(state.encode(), ttl=max_age_s))
    except (InvalidToken, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
