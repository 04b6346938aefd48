"""REDIS_URL in its two forms: a plain redis:// URL, or Celery's Sentinel form (`sentinel://…;sentinel://…/db`)."""

from __future__ import annotations

import pytest

from config.redis_url import SentinelTarget, sentinel_target

PARSED = [
    # (REDIS_URL, the Sentinel target it names, or None for a plain URL)
    ("redis://localhost:6379/0", None),
    ("rediss://:pw@redis.example:6380/2", None),
    ("unix:///run/redis.sock", None),
    (
        "sentinel://10.0.0.1:26379;sentinel://10.0.0.2:26380;sentinel://10.0.0.3/0",
        SentinelTarget(nodes=(("10.0.0.1", 26379), ("10.0.0.2", 26380), ("10.0.0.3", 26379)), db=0),
    ),
    (
        "sentinel://s1:26379/3;sentinel://s2:26379/3",
        SentinelTarget(nodes=(("s1", 26379), ("s2", 26379)), db=3),
    ),
    (
        "sentinel://:p%40ss@s1:26379/1",
        SentinelTarget(nodes=(("s1", 26379),), db=1, username=None, password="p@ss"),
    ),
    (
        "sentinel://app:pw@s1;sentinel://app:pw@s2",
        SentinelTarget(nodes=(("s1", 26379), ("s2", 26379)), db=0, username="app", password="pw"),
    ),
    (" sentinel://[::1]:26379/0 ", SentinelTarget(nodes=(("::1", 26379),), db=0)),
]


@pytest.mark.parametrize(("url", "target"), PARSED)
def test_redis_url_forms(url, target):
    assert sentinel_target(url) == target


REFUSED = [
    # kombu reads the database (and credentials) from whichever sentinel it is connected to, so parts that
    # disagree would put the ingest's queue and the workers' queue in different places.
    ("sentinel://s1:26379/0;sentinel://s2:26379/1", "same database"),
    ("sentinel://s1:26379;sentinel://s2:26379/1", "same database"),
    ("sentinel://:a@s1;sentinel://:b@s2", "same credentials"),
    ("redis://r1:6379;redis://r2:6379", "only sentinel://"),
    ("sentinel://s1:26379;redis://r1:6379", "only sentinel://"),
    ("sentinel://s1:26379/zero", "database number"),
    ("sentinel:///0", "host"),
    ("sentinel://s1:26379/0?ssl=true", "query"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_redis_url_forms_refused(url, message):
    with pytest.raises(ValueError, match=message):
        sentinel_target(url)
