"""Settings-page sessions, sign-in links and Jobber consents waiting for an admin, in a real Redis: what is
stored, how long it lives, and that one use is one use."""

from __future__ import annotations

import time

import pytest

from store import keys
from store.crypto import token_hash
from store.pending_jobber import GRACE_S, PendingConnections, PendingJobber
from store.sessions import SESSION_IDLE_S, SESSION_MAX_S, SessionStore

pytestmark = pytest.mark.flow

SECRET = "test-secret-key-for-the-suite"


@pytest.fixture
def sessions(r) -> SessionStore:
    return SessionStore(r, SECRET)


def test_a_session_is_stored_by_digest_and_expires_when_idle(r, sessions):
    cookie, session = sessions.create("int_a")
    assert not r.exists(keys.session(cookie))  # the cookie value itself is never a key
    key = keys.session(token_hash(cookie))
    assert r.hget(key, "integration") == "int_a" and 0 < r.ttl(key) <= SESSION_IDLE_S
    assert sessions.get(cookie) == session
    assert sessions.get("someone-elses-guess") is None and sessions.get(None) is None
    r.expire(key, 5)
    sessions.get(cookie)  # use restarts the idle timer
    assert r.ttl(key) > SESSION_IDLE_S - 10


def test_a_session_ends_after_its_maximum_age_however_busy(r, sessions):
    cookie, _ = sessions.create("int_a")
    key = keys.session(token_hash(cookie))
    r.hset(key, "created_at", repr(time.time() - SESSION_MAX_S - 1))
    assert sessions.get(cookie) is None and not r.exists(key)


def test_sign_in_links_work_once_and_expire(r, sessions):
    token, expires_at = sessions.issue_link("int_a", ttl_s=120)
    assert expires_at == pytest.approx(time.time() + 120, abs=5)
    assert 0 < r.ttl(keys.signin_link(token_hash(token))) <= 120
    assert (
        sessions.peek_link(token) == "int_a" and sessions.peek_link(token) == "int_a"
    )  # reading uses nothing
    assert sessions.redeem_link(token) == "int_a"
    assert sessions.redeem_link(token) is None  # reused
    assert sessions.peek_link(token) is None
    for ttl in (0, 59, 8 * 24 * 3600):
        with pytest.raises(ValueError):
            sessions.issue_link("int_a", ttl_s=ttl)


def test_the_oauth_nonce_belongs_to_one_session_and_works_once(sessions):
    _, mine = sessions.create("int_a")
    _, theirs = sessions.create("int_a")
    nonce = sessions.new_oauth_nonce(mine)
    assert not sessions.take_oauth_nonce(theirs, nonce)
    assert sessions.take_oauth_nonce(mine, nonce)
    assert not sessions.take_oauth_nonce(mine, nonce)


def test_a_waiting_jobber_consent_is_encrypted_bound_to_its_reference_and_taken_once(r):
    store = PendingConnections(r, SECRET)
    pending = PendingJobber("access-SECRET", "refresh-SECRET", "acct", "Acme", hold_until=time.time() + 3600)
    reference = store.hold(pending)
    key = keys.pending_jobber(token_hash(reference))
    assert not r.exists(keys.pending_jobber(reference))  # the browser's reference itself is never a key
    assert "SECRET" not in r.get(key) and "Acme" not in r.get(key)
    assert 3600 < r.ttl(key) <= 3600 + GRACE_S + 1  # kept past its hold, for the sweep
    assert store.peek(reference) == pending and store.peek("someone-elses-guess") is None
    assert store.due() == []  # not due before its hold runs out
    assert store.due(now=time.time() + 3601) == [token_hash(reference)]
    assert store.take(reference) == pending and store.take(reference) is None
    assert store.due(now=time.time() + 3601) == [] and not r.exists(key)


def test_a_consent_handed_to_the_sweep_is_out_of_every_browsers_reach(r):
    store = PendingConnections(r, SECRET)
    reference = store.hold(PendingJobber("a", "r", "acct", "Acme", hold_until=time.time() + 3600))
    earlier = store.take(reference)
    digest = store.requeue(earlier, due_at=time.time() - 1)
    assert store.peek(reference) is None and store.due() == [digest]
    assert store.take_by_digest(digest).refresh_token == "r" and store.due() == []
