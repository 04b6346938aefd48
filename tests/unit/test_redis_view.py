"""The typed view of the Redis clients (store/redis.py `RedisClient` and friends): redis-py's types, narrowed
once for the clients the product builds (issue 18).

The view is only as good as its match with redis-py: every command it declares is one redis-py has, taking
each argument the way redis-py does (a positional one in redis-py's place, a keyword-only one by a name
redis-py knows, a default only where redis-py has the same), so a call the view accepts is a call redis-py
reads the same way; and what it declares a command returns is what a client built by `sync_client`
(`decode_responses=True`) returns, checked against the suite's Redis. Outside store/redis.py the product
names redis-py's client classes nowhere: it uses the view.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.client
import redis.client
from redis.commands.core import AsyncScript, Script

from store import redis as view

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("config", "domain", "clients", "store", "flows", "tasks", "worker", "ingest", "cli")

# each Protocol of the view, and the redis-py class a client built by store/redis.py really is
PAIRS = [
    (view.RedisClient, redis.Redis),
    (view.RedisPipeline, redis.client.Pipeline),
    (view.RedisScript, Script),
    (view.AsyncRedisClient, redis.asyncio.Redis),
    (view.AsyncRedisPipeline, redis.asyncio.client.Pipeline),
    (view.AsyncRedisScript, AsyncScript),
]
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def declared(protocol: type) -> dict[str, list[Callable[..., Any]]]:
    """The methods a Protocol declares (each overload of an overloaded one)."""
    found = {}
    for name, member in vars(protocol).items():
        if callable(member) and (not name.startswith("_") or name in ("__call__", "__enter__", "__exit__")):
            # (an overloaded name is bound to typing's stand-in: its overloads are found by qualified name)
            qualname = f"{protocol.__qualname__}.{name}"
            where = types.SimpleNamespace(__module__=protocol.__module__, __qualname__=qualname)
            found[name] = list(typing.get_overloads(where)) or [member]
    return found


def mismatches(mine: Callable[..., Any], theirs: Callable[..., Any]) -> list[str]:
    """How a call that `mine` accepts could be read otherwise by `theirs` (both unbound methods)."""
    ours = list(inspect.signature(mine).parameters.values())[1:]
    real = list(inspect.signature(theirs).parameters.values())[1:]
    real_positional = [p for p in real if p.kind in POSITIONAL]
    real_named = {p.name: p for p in real if p.kind in NAMED}
    problems = []
    for i, p in enumerate(ours):
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            if i >= len(real_positional) or real_positional[i].name != p.name:
                problems.append(f"positional {p.name} is not redis-py's argument {i + 1}")
                continue
            theirs_p = real_positional[i]
        elif p.kind is inspect.Parameter.KEYWORD_ONLY:
            if p.name not in real_named:
                problems.append(f"keyword {p.name} is no argument of redis-py's")
                continue
            theirs_p = real_named[p.name]
        else:  # *args: lands in redis-py's *args, after the same positional arguments
            if p.kind is inspect.Parameter.VAR_POSITIONAL and not (
                len(real_positional) == i and any(q.kind is inspect.Parameter.VAR_POSITIONAL for q in real)
            ):
                problems.append(f"*{p.name} does not land in redis-py's *args")
            continue
        if p.default is not inspect.Parameter.empty and p.default != theirs_p.default:
            problems.append(f"{p.name} defaults to {p.default!r}, redis-py's to {theirs_p.default!r}")
    given = {p.name for p in ours}
    for q in real:
        if q.kind in NAMED and q.default is inspect.Parameter.empty and q.name not in given:
            problems.append(f"redis-py requires {q.name}")
    return problems


@pytest.mark.parametrize(("protocol", "real"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_every_declared_command_is_read_by_redis_py_as_declared(protocol: type, real: type) -> None:
    problems = []
    for name, overloads in declared(protocol).items():
        if not hasattr(real, name):
            problems.append(f"{name}: redis-py has no such command")
            continue
        if name in ("__enter__", "__exit__"):
            continue
        for one in overloads:
            problems += [f"{name}: {problem}" for problem in mismatches(one, getattr(real, name))]
    assert problems == []


def conforms(value: object, hint: Any) -> bool:
    """`value` is of the type `hint` (the few forms the view uses)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is None or hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, a) for a in args)
    if origin is None:
        return isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    if not isinstance(value, origin):
        return False
    if origin in (list, set):
        return all(conforms(v, args[0]) for v in value)
    if origin is dict:
        return all(conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items())
    if origin is tuple:
        return len(value) == len(args) and all(map(conforms, value, args))
    raise AssertionError(f"no check for {hint}")


def returns(name: str) -> Any:
    return typing.get_type_hints(getattr(view.RedisClient, name))["return"]


def test_a_decoded_client_returns_what_the_view_declares(r: view.RedisClient) -> None:
    r.set("s", "1")
    r.hset("h", mapping={"a": "1", "b": "2"})
    r.sadd("set", "x", "y")
    r.zadd("z", {"m": 1.5, "n": 2})
    r.lpush("l", "p", "q")
    calls: dict[str, tuple[Any, ...]] = {
        "get": ("s",),
        "hget": ("h", "a"),
        "hgetall": ("h",),
        "hmget": ("h", ["a", "missing"]),
        "hkeys": ("h",),
        "hvals": ("h",),
        "hexists": ("h", "a"),
        "hlen": ("h",),
        "hincrby": ("h", "n"),
        "hincrbyfloat": ("h", "f", 0.5),
        "hsetnx": ("h", "a", "3"),
        "smembers": ("set",),
        "zcard": ("z",),
        "zcount": ("z", "-inf", "+inf"),
        "lrange": ("l", 0, -1),
        "lindex": ("l", 0),
        "llen": ("l",),
        "ltrim": ("l", 0, 5),
        "scan": (0,),
        "expire": ("s", 60),
        "exists": ("s",),
        "getdel": ("s",),
        "delete": ("nothing",),
    }
    wrong = {}
    for name, args in calls.items():
        value = getattr(r, name)(*args)
        if not conforms(value, returns(name)):
            wrong[name] = value
    for value, hint in [  # the overloaded ones, per overload
        (r.zrange("z", 0, -1), list[str]),
        (r.zrange("z", 0, -1, withscores=True), list[tuple[str, float]]),
        (r.zrangebyscore("z", "-inf", "+inf"), list[str]),
        (r.zrangebyscore("z", "-inf", "+inf", withscores=True), list[tuple[str, float]]),
        (r.set("n", "1", nx=True), bool | None),
        (r.set("n", "2", nx=True), bool | None),
        (r.set("n", "3", get=True), str | None),
        (r.set("fresh", "1", nx=True, get=True), str | None),
    ]:
        if not conforms(value, hint):
            wrong[str(hint)] = value
    assert wrong == {}


CLIENT_CLASSES = re.compile(
    r"\b(redis|aioredis)\.Redis\b|\bredis\.asyncio\.client\b|from redis(\.asyncio)? import [^\n]*\bRedis\b"
)


def test_outside_its_view_the_product_names_no_redis_py_client_class() -> None:
    named = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "store" / "redis.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CLIENT_CLASSES.search(line)
    ]
    assert named == []
