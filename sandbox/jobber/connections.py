"""Relay connections over in-memory lists: nodes, edges {cursor, node}, pageInfo, totalCount.

Cursors are offsets (graphql-ruby style); Jobber's are opaque, clients only pass them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import GraphQLError

from . import ids

# UNCONFIRMED: Jobber's maximum page size; the sandbox caps `first`/`last` at 100 like the default page size.
MAX_PAGE = 100
DEFAULT_PAGE = 100


def connection(items: Sequence[Any], args: dict[str, Any]) -> dict[str, Any]:
    first, last = args.get("first"), args.get("last")
    after, before = args.get("after"), args.get("before")
    if (first is not None and first < 0) or (last is not None and last < 0):
        raise GraphQLError("Argument 'first'/'last' must be non-negative")
    try:
        start = ids.decode_cursor(after) if after else 0  # 1-based index of the `after` item == 0-based start
        end = ids.decode_cursor(before) - 1 if before else len(items)
    except ValueError as exc:
        raise GraphQLError(str(exc)) from None
    start, end = max(0, start), min(len(items), max(end, 0))
    if end < start:
        end = start
    if first is not None:
        end = min(end, start + min(first, MAX_PAGE))
    if last is not None:
        start = max(start, end - min(last, MAX_PAGE))
    if first is None and last is None:
        end = min(end, start + DEFAULT_PAGE)
    window = list(items[start:end])
    edges = [{"cursor": ids.encode_cursor(start + i + 1), "node": node} for i, node in enumerate(window)]
    return {
        "edges": edges,
        "nodes": window,
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }
