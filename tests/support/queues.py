"""What is waiting to run: every Celery queue list and every tenant lane in front of them
(store/queues.py)."""

from __future__ import annotations

import json
from typing import Any

import redis

from config.queues import ALL_QUEUES
from store import keys


def _lists(r: redis.Redis) -> list[str]:
    return [*ALL_QUEUES, *(str(k) for k in r.scan_iter(f"{keys.LANE_PREFIX}*"))]


def queued_count(r: redis.Redis) -> int:
    return sum(int(r.llen(name)) for name in _lists(r))


def queued_messages(r: redis.Redis) -> list[dict[str, Any]]:
    """Every waiting task message, decoded (oldest last within each list)."""
    return [json.loads(m) for name in _lists(r) for m in r.lrange(name, 0, -1)]
