"""Encryption of stored secrets (vendor tokens) and of OAuth `state`: Fernet with keys derived from SECRET_KEY
by HKDF (one key per purpose).

During a rotation (config/secret_key.py) what SECRET_KEY_PREVIOUS sealed still opens, and everything is sealed
with SECRET_KEY; `reseal` moves one stored value to the current key (`ajctl secrets reencrypt`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from config.secret_key import SecretKeys

# A bare string is one key (no rotation under way); Settings.secret_key() gives SecretKeys.
Keys = str | SecretKeys

_TOKENS = b"aj/token-encryption/v1"
_STATE = b"aj/oauth-state/v1"


class DecryptError(RuntimeError):
    """A stored secret cannot be decrypted: SECRET_KEY changed or the value was tampered with."""


def _ring(keys: Keys) -> tuple[str, ...]:
    return (keys,) if isinstance(keys, str) else keys.all


@lru_cache(maxsize=16)
def _derived(secret_key: str, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@lru_cache(maxsize=16)
def _opener(keys: Keys, purpose: bytes) -> MultiFernet:
    """Seals with the current key; opens with any key of the ring."""
    return MultiFernet([_derived(k, purpose) for k in _ring(keys)])


def encrypt(keys: Keys, plaintext: str) -> str:
    return _derived(_ring(keys)[0], _TOKENS).encrypt(plaintext.encode()).decode()


def decrypt(keys: Keys, ciphertext: str) -> str:
    try:
        return _opener(keys, _TOKENS).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptError("stored secret cannot be decrypted (was SECRET_KEY changed?)") from None


def reseal(keys: Keys, ciphertext: str) -> str | None:
    """`ciphertext` sealed with the current key, or None when it already is. Raises DecryptError when no key
    of the ring opens it."""
    try:
        _derived(_ring(keys)[0], _TOKENS).decrypt(ciphertext.encode())
        return None
    except InvalidToken:
        pass
    try:
        return _opener(keys, _TOKENS).rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptError(
            "stored secret cannot be decrypted with SECRET_KEY or SECRET_KEY_PREVIOUS"
        ) from None


def token_hash(token: str) -> str:
    """Lookup key for a webhook token. Looking up a SHA-256 digest leaks nothing usable about the token
    through timing, which is what makes the tenant lookup constant-time in effect (aircall-api.md §1.2)."""
    return hashlib.sha256(token.encode()).hexdigest()


def seal_state(keys: Keys, payload: dict[str, str]) -> str:
    """An OAuth `state`: the payload, encrypted and authenticated, with its creation time (Fernet)."""
    return _derived(_ring(keys)[0], _STATE).encrypt(json.dumps(payload).encode()).decode()


def open_state(keys: Keys, state: str, max_age_s: int = 900) -> dict[str, str] | None:
    """The payload of a `state` we issued in the last `max_age_s` seconds, else None (forged or stale). A
    state sealed with SECRET_KEY_PREVIOUS opens during a rotation (a consent begun before the restart)."""
    try:
        doc = json.loads(_opener(keys, _STATE).decrypt(state.encode(), ttl=max_age_s))
    except (InvalidToken, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
