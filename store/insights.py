"""Per-call AI content fetched from Aircall (kind → JSON body), and which action items became Jobber tasks.

Keyed on the scope (domain/scope.py), not the integration: a reinstall for the same company and Jobber account
renders the AI note from everything already fetched and never creates an action item's task a second time.
"""

from __future__ import annotations

import json
from typing import Any

from domain.scope import Scope
from store import keys
from store.redis import RedisClient

TTL_S = 30 * 86400
TASKS_TTL_S = 180 * 86400  # as long as the call's activity record


class InsightStore:
    def __init__(self, r: RedisClient):
        self.r = r

    def put(self, scope: Scope, call_id: str, kind: str, body: dict[str, Any]) -> None:
        key = keys.ai_content(scope, call_id)
        pipe = self.r.pipeline()
        pipe.hset(key, kind, json.dumps(body))
        pipe.expire(key, TTL_S)
        pipe.execute()

    def all(self, scope: Scope, call_id: str) -> dict[str, Any]:
        raw = self.r.hgetall(keys.ai_content(scope, call_id))
        return {kind: json.loads(body) for kind, body in raw.items()}

    def task_for(self, scope: Scope, call_id: str, item_id: str) -> str | None:
        return self.r.hget(keys.ai_tasks(scope, call_id), item_id)

    def task_attempt(self, scope: Scope, call_id: str, item_id: str, now_iso: str) -> tuple[str, bool]:
        """When the item's task was first attempted (ISO 8601), and whether that is now: a later attempt may
        find the task an earlier one created before its answer was lost."""
        key = keys.ai_task_attempts(scope, call_id)
        pipe = self.r.pipeline()
        pipe.hsetnx(key, item_id, now_iso)
        pipe.hget(key, item_id)
        pipe.expire(key, TASKS_TTL_S)
        first, started, _ = pipe.execute()
        return str(started), bool(first)

    def record_task(self, scope: Scope, call_id: str, item_id: str, task_id: str) -> None:
        key = keys.ai_tasks(scope, call_id)
        pipe = self.r.pipeline()
        pipe.hset(key, item_id, task_id)
        pipe.expire(key, TASKS_TTL_S)
        pipe.execute()
