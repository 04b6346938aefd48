"""store/keys.py is the one place keys come from, and every key the store writes either expires or has an
owner that deletes it (keys.PERSISTENT, keys.integration_state). A pure key-layout check on fakeredis; the
real-Redis soak (tests/reliability/test_memory_soak.py) checks the same over a whole run."""

from __future__ import annotations

import fnmatch
import time

import fakeredis
import pytest

from domain.calls import Snapshot
from domain.matching import ClientRef
from store import keys
from store.activities import Activities, ActivityRecord
from store.api_versions import JobberVersionNotices
from store.backfill import ReconcileWatermark
from store.calls import CallStates
from store.cards import CardClaims
from store.contacts import ContactMap, Mapping
from store.created_clients import CreatedClients
from store.crypto import token_hash
from store.insights import InsightStore
from store.pending_jobber import PendingConnections, PendingJobber
from store.phones import PhoneCache
from store.workers import WorkerBeats

INTEGRATION, ACCOUNT, CALL = "int_k", "acct_k", "42"
CONSENT = PendingJobber("access", "refresh", ACCOUNT, "Acme", hold_until=time.time() + 3600)


def write_everything(r: fakeredis.FakeRedis) -> str:
    """Write one of each kind of record; returns the digest of the waiting Jobber consent's reference."""
    Activities(r).put(INTEGRATION, "call", CALL, ActivityRecord(state="done", kind="note", client_id="c1"))
    CallStates(r).add(INTEGRATION, CALL, "ev_1", Snapshot("call.ended", 1, {"id": 42}))
    CardClaims(r).claim(INTEGRATION, CALL, "ev_1")
    ContactMap(r).put(INTEGRATION, "c1", Mapping(contact_id="9", digest="d"))
    InsightStore(r).put(INTEGRATION, CALL, "summary", {"content": "x"})
    PhoneCache(r).put(ACCOUNT, "+14155550100", ClientRef(id="c1", name="Dana", web_uri="https://x"))
    CreatedClients(r).begin(ACCOUNT, "+14155550111")  # a create whose answer never came
    CreatedClients(r).done(
        ACCOUNT, "+14155550122", "2026-12-06T00:00:00+00:00", ClientRef("c2", "N", "https://y")
    )
    ReconcileWatermark(r, INTEGRATION).set(1.0)
    JobberVersionNotices(r).record("2023-08-18", "2023-08-18", "Support has ended", 2, 1.0)
    WorkerBeats(r).beat("worker.host-1", 123, 0, 1.0)
    return token_hash(PendingConnections(r, "secret").hold(CONSENT))


@pytest.fixture
def r() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(decode_responses=True)


def test_every_key_expires_or_has_an_owner(r: fakeredis.FakeRedis) -> None:
    write_everything(r)
    owned = set(keys.integration_state(INTEGRATION))
    unowned = [
        k for k in r.scan_iter()
        if r.ttl(k) < 0 and k not in owned and not any(fnmatch.fnmatch(k, p) for p in keys.PERSISTENT)
    ]  # fmt: skip
    assert r.dbsize() >= 8
    assert unowned == []


def test_every_key_is_one_that_store_keys_names(r: fakeredis.FakeRedis) -> None:
    consent = write_everything(r)
    named = {
        keys.pending_jobber(consent), keys.PENDING_JOBBER_DUE,
        keys.activity(INTEGRATION, "call", CALL), keys.call_state(INTEGRATION, CALL), keys.card_claim(INTEGRATION, CALL),
        keys.contact_map(INTEGRATION), keys.ai_content(INTEGRATION, CALL), keys.phone(ACCOUNT, "+14155550100"),
        keys.phone_reverse(ACCOUNT, "c1"), keys.reconcile_watermark(INTEGRATION),
        keys.created_client(ACCOUNT, "+14155550111"), keys.created_client(ACCOUNT, "+14155550122"),
        keys.created_client_reverse(ACCOUNT, "c2"),
        keys.JOBBER_VERSION_NOTICES, keys.STAT_JOBBER_VERSION_NOTICES, keys.worker("worker.host-1"),
    }  # fmt: skip
    assert set(r.scan_iter()) <= named
    assert all(k.startswith(f"{keys.PREFIX}:") for k in r.scan_iter())


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param(keys.lock("activity", "int_1", "call", "7"), "aj:lock:activity:int_1:call:7", id="lock"),
        pytest.param(keys.card_claim("int_1", 7), "aj:card:int_1:7", id="card claim"),
        pytest.param(keys.lane("jobber", "int_1"), "aj:lane:jobber:int_1", id="fair lane"),
        pytest.param(keys.pending_jobber("d1"), "aj:jobber_pending:d1", id="waiting jobber consent"),
    ],
)
def test_key_shapes_are_stable(key: str, expected: str) -> None:
    """Renaming a key orphans what a running fleet stored under the old one: shapes are a contract."""
    assert key == expected
