"""Jobber `EncodedId`s: opaque base64 of `gid://Jobber/<Type>/<n>` (reference §5.1); Relay offset cursors."""

from __future__ import annotations

import base64
import binascii
import re

_GID = re.compile(r"^gid://Jobber/([A-Za-z]+)/(\d+)$")


class InvalidEncodedId(ValueError):
    """Raised by the `EncodedId` scalar; turned into Jobber's `extensions.problems` error shape."""

    def __init__(self, value: object):
        super().__init__(f"{value!r} is not a valid EncodedId")
        self.value = value


def encode(type_name: str, number: int) -> str:
    # Standard base64 with padding, as in the reference's examples ("Z2lkOi8vSm9iYmVyL0NsaWVudC85ODc2NQ==").
    return base64.b64encode(f"gid://Jobber/{type_name}/{number}".encode()).decode()


def decode(encoded: str) -> tuple[str, int]:
    """(type, number) of an EncodedId; raises InvalidEncodedId when it is not one."""
    if not isinstance(encoded, str):
        raise InvalidEncodedId(encoded)
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidEncodedId(encoded) from None
    match = _GID.match(raw)
    if not match:
        raise InvalidEncodedId(encoded)
    return match.group(1), int(match.group(2))


def is_valid(encoded: object) -> bool:
    try:
        decode(encoded)  # type: ignore[arg-type]
    except InvalidEncodedId:
        return False
    return True


def encode_cursor(index: int) -> str:
    """Cursor for the 1-based position `index`, the way graphql-ruby's array connections do it (base64 of the
    offset, no padding). Jobber's cursors are opaque strings; clients must not parse them."""
    return base64.urlsafe_b64encode(str(index).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"Invalid cursor: {cursor!r}") from None
