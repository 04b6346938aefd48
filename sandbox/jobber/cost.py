"""Query cost (reference §3.2) and the two per-account rate limits (§3.1, §3.2).

Requested cost, computed from the document before running it: every scalar or object field costs 1;
`edges`, `nodes` and `node` cost 0; the edges/nodes subtree of a connection is multiplied by `first`/`last`
(100 when neither is given); nested connections multiply. `pageInfo` and `totalCount` are not multiplied.
Actual cost uses the same rules on the response: a connection's subtree counts once per returned node.
(The exact formula is Jobber's; this one reproduces the documented rules and the reference's clientCreate
example, requested 12.)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

DEFAULT_MULTIPLIER = 100
FREE_FIELDS = {"edges", "nodes", "node"}


def _is_connection(type_: Any) -> bool:
    return getattr(get_named_type(type_), "name", "").endswith("Connection")


class _Walker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None):
        self.schema = schema
        self.variables = variables or {}
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def _fields(
        self, selection_set: SelectionSetNode | None, parent: Any, seen: frozenset[str] = frozenset()
    ) -> list[tuple[FieldNode, Any]]:
        """Flatten fragments into (field node, its parent type) pairs."""
        out: list[tuple[FieldNode, Any]] = []
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                out.append((sel, parent))
            elif isinstance(sel, InlineFragmentNode):
                cond = (
                    self.schema.type_map.get(sel.type_condition.name.value) if sel.type_condition else parent
                )
                out += self._fields(sel.selection_set, cond, seen)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                frag = self.fragments.get(sel.name.value)
                if frag:
                    cond = self.schema.type_map.get(frag.type_condition.name.value)
                    out += self._fields(frag.selection_set, cond, seen | {sel.name.value})
        return out

    def _arg(self, node: FieldNode, name: str) -> Any:
        for arg in node.arguments or ():
            if arg.name.value == name:
                if isinstance(arg.value, VariableNode):
                    return self.variables.get(arg.value.name.value)
                return value_from_ast_untyped(arg.value, self.variables)
        return None

    def cost(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        total = 0
        for node, parent_type in self._fields(selection_set, parent):
            name = node.name.value
            if name.startswith("__"):
                continue
            field = getattr(parent_type, "fields", {}).get(name) if parent_type is not None else None
            field_type = field.type if field is not None else None
            child_parent = get_named_type(field_type) if field_type is not None else None
            if _is_connection(field_type):
                first, last = self._arg(node, "first"), self._arg(node, "last")
                mult = next((v for v in (first, last) if isinstance(v, int)), DEFAULT_MULTIPLIER)
                total += 1
                for child, child_type in self._fields(node.selection_set, child_parent):
                    sub_field = getattr(child_type, "fields", {}).get(child.name.value)
                    sub_parent = get_named_type(sub_field.type) if sub_field is not None else None
                    inner = self.cost(child.selection_set, sub_parent)
                    if child.name.value in ("edges", "nodes"):
                        total += mult * inner
                    else:
                        total += 1 + inner
            else:
                total += (0 if name in FREE_FIELDS else 1) + self.cost(node.selection_set, child_parent)
        return total


def requested_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> int:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    op = next((o for o in ops if operation_name is None or (o.name and o.name.value == operation_name)), None)
    if op is None:
        return 0
    root = schema.mutation_type if op.operation.value == "mutation" else schema.query_type
    return _Walker(schema, document, variables).cost(op.selection_set, root)


def actual_cost(data: Any, key: str | None = None) -> int:
    """Same rules as `requested_cost`, applied to the response data (actual sizes)."""
    if isinstance(data, list):
        return sum(actual_cost(item) for item in data)
    if isinstance(data, dict):
        return sum(
            (0 if k in FREE_FIELDS or k == "__typename" else 1) + actual_cost(v, k) for k, v in data.items()
        )
    return 0


@dataclass
class BucketStatus:
    maximum_available: int
    currently_available: int
    restore_rate: int

    def as_json(self) -> dict[str, int]:
        return {
            "maximumAvailable": self.maximum_available,
            "currentlyAvailable": self.currently_available,
            "restoreRate": self.restore_rate,
        }


class CostBuckets:
    """Leaky bucket per account: `maximum` points, restoring `restore_rate` points per second."""

    def __init__(self, maximum: int = 10_000, restore_rate: int = 500):
        self.maximum = maximum
        self.restore_rate = restore_rate
        self._lock = threading.Lock()
        self._level: dict[str, tuple[float, float]] = {}  # account -> (available, at)

    def _refill(self, account: str, now: float) -> float:
        available, at = self._level.get(account, (float(self.maximum), now))
        return min(float(self.maximum), available + (now - at) * self.restore_rate)

    def status(self, account: str) -> BucketStatus:
        with self._lock:
            now = time.monotonic()
            return BucketStatus(self.maximum, int(self._refill(account, now)), self.restore_rate)

    def try_reserve(self, account: str, requested: int) -> bool:
        """False (THROTTLED) when the requested cost exceeds what is available; nothing is spent then."""
        with self._lock:
            now = time.monotonic()
            available = self._refill(account, now)
            self._level[account] = (available, now)
            return requested <= available

    def spend(self, account: str, points: int) -> BucketStatus:
        with self._lock:
            now = time.monotonic()
            available = max(0.0, self._refill(account, now) - points)
            self._level[account] = (available, now)
            return BucketStatus(self.maximum, int(available), self.restore_rate)

    def drain(self, account: str, to: int = 0) -> None:
        with self._lock:
            self._level[account] = (float(to), time.monotonic())

    def reset(self) -> None:
        with self._lock:
            self._level.clear()


class RequestLimiter:
    """DDoS limiter: at most `limit` requests per `window_s` seconds per account, else HTTP 429."""

    def __init__(self, limit: int = 2_500, window_s: float = 300.0):
        self.limit = limit
        self.window_s = window_s
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def allow(self, account: str) -> bool:
        with self._lock:
            now = time.monotonic()
            hits = self._hits.setdefault(account, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
