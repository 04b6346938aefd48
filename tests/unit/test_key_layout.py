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
from domain.scope import Scope
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
from store.stats import BeatJobs, JobberRefreshes
from store.workers import WorkerBeats

INTEGRATION, ACCOUNT, CALL = "int_k", "acct_k", "42"
SCOPE = Scope(ACCOUNT, "company_k")
CONSENT = PendingJobber("access", "refresh", ACCOUNT, "Acme", hold_until=time.time() + 3600)


def write_everything(r: fakeredis.FakeRedis) -> str:
    """Write one of each kind of record; returns the digest of the waiting Jobber consent's reference."""
    Activities(r).put(SCOPE, "call", CALL, ActivityRecord(state="done", kind="note", client_id="c1"))
    CallStates(r).add(SCOPE, CALL, "ev_1", Snapshot("call.ended", 1, {"id": 42}))
    CardClaims(r).claim(SCOPE, CALL, "ev_1")
    CardClaims(r).posted(SCOPE, CALL, "ev_1", seconds=0.2)
    ContactMap(r).open(SCOPE)
    ContactMap(r).put(SCOPE, "c1", Mapping(contact_id="9", digest="d"))
    InsightStore(r).put(SCOPE, CALL, "summary", {"content": "x"})
    InsightStore(r).task_attempt(SCOPE, CALL, "item-1", "2026-12-06T00:00:00+00:00")
    InsightStore(r).record_task(SCOPE, CALL, "item-1", "task-1")
    PhoneCache(r).put(ACCOUNT, "+14155550100", ClientRef(id="c1", name="Dana", web_uri="https://x"))
    CreatedClients(r).begin(ACCOUNT, "+14155550111")  # a create whose answer never came
    CreatedClients(r).done(
        ACCOUNT, "+14155550122", "2026-12-06T00:00:00+00:00", ClientRef("c2", "N", "https://y")
    )
    ReconcileWatermark(r, INTEGRATION).set(1.0)
    JobberVersionNotices(r).record("2023-08-18", "2023-08-18", "Support has ended", 2, 1.0)
    WorkerBeats(r).beat("worker.host-1", 123, 0, 1.0)
    BeatJobs(r).register({"maintenance.recover_lost_deliveries": 300.0}, 1.0)
    JobberRefreshes(r).count("ok")
    return token_hash(PendingConnections(r, "secret").hold(CONSENT))


@pytest.fixture
def r() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(decode_responses=True)


def test_every_key_expires_or_has_an_owner(r: fakeredis.FakeRedis) -> None:
    write_everything(r)
    owned = set(keys.integration_state(INTEGRATION))
    unowned = [
        k
        for k in r.scan_iter()
        if r.ttl(k) < 0 and k not in owned and not any(fnmatch.fnmatch(k, p) for p in keys.PERSISTENT)
    ]
    assert r.dbsize() >= 8
    assert unowned == []


def test_every_key_is_one_that_store_keys_names(r: fakeredis.FakeRedis) -> None:
    consent = write_everything(r)
    named = {
        keys.pending_jobber(consent),
        keys.PENDING_JOBBER_DUE,
        keys.activity(SCOPE, "call", CALL),
        keys.call_state(SCOPE, CALL),
        keys.card_claim(SCOPE, CALL),
        keys.contact_map(SCOPE),
        keys.CONTACT_SCOPES,
        keys.ai_content(SCOPE, CALL),
        keys.ai_tasks(SCOPE, CALL),
        keys.ai_task_attempts(SCOPE, CALL),
        keys.phone(ACCOUNT, "+14155550100"),
        keys.phone_reverse(ACCOUNT, "c1"),
        keys.reconcile_watermark(INTEGRATION),
        keys.created_client(ACCOUNT, "+14155550111"),
        keys.created_client(ACCOUNT, "+14155550122"),
        keys.created_client_reverse(ACCOUNT, "c2"),
        keys.JOBBER_VERSION_NOTICES,
        keys.STAT_JOBBER_VERSION_NOTICES,
        keys.worker("worker.host-1"),
        keys.WORKERS,
        keys.STAT_CARD_SECONDS,
        keys.STAT_BEAT_JOBS,
        keys.STAT_JOBBER_REFRESHES,
    }
    assert set(r.scan_iter()) <= named
    assert all(k.startswith(f"{keys.PREFIX}:") for k in r.scan_iter())


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param(
            keys.lock("activity", Scope("acct_1", "co_1").key, "call", "7"),
            "aj:lock:activity:acct_1:co_1:call:7",
            id="lock",
        ),
        pytest.param(keys.card_claim(Scope("acct_1", "co_1"), 7), "aj:card:acct_1:co_1:7", id="card claim"),
        pytest.param(
            keys.activity(Scope("acct_1", "co_1"), "call", "7"),
            "aj:activity:acct_1:co_1:call:7",
            id="activity",
        ),
        pytest.param(
            keys.contact_map(Scope("acct_1", "numbers:5")),
            "aj:contacts:acct_1:numbers:5",
            id="contact map, company stand-in",
        ),
        pytest.param(keys.lane("jobber", "int_1"), "aj:lane:jobber:int_1", id="fair lane"),
        pytest.param(keys.pending_jobber("d1"), "aj:jobber_pending:d1", id="waiting jobber consent"),
    ],
)
def test_key_shapes_are_stable(key: str, expected: str) -> None:
    """Renaming a key orphans what a running fleet stored under the old one: shapes are a contract."""
    assert key == expected


def test_records_about_calls_and_clients_are_not_an_integrations_state(r: fakeredis.FakeRedis) -> None:
    """Issue 16: what answers "already logged / already synced" is keyed on the scope, never deleted with an
    integration (a reinstall finds it), and expires on its own."""
    write_everything(r)
    about_resources = [
        keys.activity(SCOPE, "call", CALL),
        keys.call_state(SCOPE, CALL),
        keys.card_claim(SCOPE, CALL),
        keys.contact_map(SCOPE),
        keys.ai_content(SCOPE, CALL),
        keys.ai_tasks(SCOPE, CALL),
        keys.ai_task_attempts(SCOPE, CALL),
    ]
    assert not set(about_resources) & set(keys.integration_state(INTEGRATION))
    assert all(INTEGRATION not in k for k in about_resources)
    assert all(r.ttl(k) > 0 for k in about_resources)
