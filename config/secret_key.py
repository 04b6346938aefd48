"""SECRET_KEY, its rotation and its minimum strength (README "Rotating SECRET_KEY").

Every secret at rest (vendor tokens, Jobber consents waiting for an admin) and every OAuth `state` is sealed
with keys derived from SECRET_KEY (store/crypto.py). During a rotation SECRET_KEY_PREVIOUS holds the old key:
what it sealed still opens, everything new is sealed with SECRET_KEY, and `ajctl secrets reencrypt` reseals
what is stored, after which SECRET_KEY_PREVIOUS can go.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

MIN_LENGTH = 32
# Bits by the key's own character frequencies (length times Shannon entropy per character): a rough guard
# against repeated or few-symbol keys, not a measure of true randomness. 32 random hex characters (128 bits)
# score over 90.
MIN_ESTIMATED_BITS = 90
# The share of a key's 3-character windows that must differ: a repeated word ("changeme-changeme-…") fails.
MIN_DISTINCT_TRIGRAMS = 0.75
HOW_TO_MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


@dataclass(frozen=True)
class SecretKeys:
    """The key that seals (`current`) and, during a rotation, one that still opens (`previous`)."""

    current: str
    previous: str | None = None

    @property
    def all(self) -> tuple[str, ...]:
        """Every key that may open a sealed value, the current one first."""
        if self.previous and self.previous != self.current:
            return (self.current, self.previous)
        return (self.current,)


def estimated_bits(key: str) -> float:
    if not key:
        return 0.0
    n = len(key)
    return -n * sum(c / n * math.log2(c / n) for c in Counter(key).values())


def weakness(key: str) -> str | None:
    """Why `key` is too weak to protect the stored tokens, or None. Never quotes the key."""
    if len(key) < MIN_LENGTH:
        return f"SECRET_KEY is too short ({len(key)} characters; at least {MIN_LENGTH})"
    trigrams = [key[i : i + 3] for i in range(len(key) - 2)]
    repeated = len(set(trigrams)) < MIN_DISTINCT_TRIGRAMS * len(trigrams)
    if repeated or estimated_bits(key) < MIN_ESTIMATED_BITS:
        return "SECRET_KEY is too predictable (repeated text or too few different characters)"
    return None
