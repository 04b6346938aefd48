"""Waits read from vendor rate-limit headers, normalised and bounded.

`X-AircallApi-Reset` is a UNIX timestamp (aircall-api.md §7), in seconds or milliseconds (UNCONFIRMED: public
clients read both); a small value can only be seconds to wait. `Retry-After` is delta-seconds or an HTTP-date
(RFC 9110 §10.2.3). Whatever a header says, a wait taken from it is bounded: a misread unit must never park a
worker for decades.
"""

from __future__ import annotations

import math
from email.utils import parsedate_to_datetime

# Aircall's rate window is one minute (aircall-api.md §7): a header asking for more than two is misread.
AIRCALL_MAX_WAIT_S = 120.0
# Jobber's request limit is 2,500 per 5 minutes (jobber-api.md §3.1): no 429 needs a longer
# wait than the window.
JOBBER_MAX_WAIT_S = 300.0
# A THROTTLED bucket holds 10,000 points and restores 500/s (jobber-api.md §3.2): empty to full in 20 s.
JOBBER_MAX_THROTTLE_WAIT_S = 60.0
# Even a reset already in the past (clock skew) waits a moment rather than retrying at once.
MIN_WAIT_S = 1.0

# Anything above this is milliseconds: 1e11 seconds is the year 5138, 1e11 milliseconds is 1973.
_EPOCH_MS_FROM = 1e11
# Anything below this is seconds to wait, not a timestamp: 1e9 seconds since the epoch is 2001.
_EPOCH_FROM = 1e9


def _number(value: str | None) -> float | None:
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number > 0 else None


def reset_wait(value: str | None, now: float) -> float | None:
    """Seconds until a reset header's moment (negative when already past), or None when it is unreadable."""
    number = _number(value)
    if number is None:
        return None
    if number >= _EPOCH_MS_FROM:
        number /= 1000.0
    return number - now if number >= _EPOCH_FROM else number


def retry_after_wait(value: str | None, now: float) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP-date), or None when unreadable."""
    number = _number(value)
    if number is not None:
        return number
    try:
        moment = parsedate_to_datetime((value or "").strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment.timestamp() - now if moment.tzinfo else None


def bounded(wait: float, maximum: float) -> float:
    return min(maximum, max(MIN_WAIT_S, wait))
