"""SECRET_KEY rotation (issue 16): with the old key as SECRET_KEY_PREVIOUS everything it sealed still opens,
`ajctl secrets reencrypt` reseals every stored secret with the new key (idempotent, never overwriting a token
refreshed meanwhile), and afterwards the old key is no longer needed."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from cli import main as ajctl
from config.secret_key import SecretKeys
from store import keys
from store.crypto import DecryptError
from store.integrations import IntegrationStore
from store.pending_jobber import PendingConnections, PendingJobber
from tests.support.tenants import AIRCALL_TOKEN, JOBBER_ACCESS, JOBBER_REFRESH, make_tenant

pytestmark = pytest.mark.flow

OLD = "old-key-5N0pQ7rT2vX9zB4dF6hJ8kL1mW3yC0aE"
NEW = "new-key-Gq8Rt3Yw6Ui1Op4As7Df0Gh2Jk5Lz9Xc"
OTHER = "other-key-Vb2Nm5Qw8Er1Ty4Ui7Op0As3Df6G"


def reencrypt(*extra: str, ok: bool = True) -> tuple[int, dict]:
    result = CliRunner().invoke(ajctl, ["secrets", "reencrypt", "--json", *extra])
    if ok:
        assert result.exit_code == 0, result.stderr or result.output
    return result.exit_code, json.loads(result.stdout)


def waiting_consent(r, secret: str) -> tuple[str, str]:
    """A Jobber consent waiting for an admin, sealed with `secret`: (browser reference, digest)."""
    pending = PendingConnections(r, secret)
    grant = PendingJobber(
        "access-SECRET-9", "refresh-SECRET-9", "acct-9", "Acme", hold_until=time.time() + 3600
    )
    reference = pending.hold(grant)
    [digest] = pending.digests()
    return reference, digest


def test_the_previous_key_opens_until_reencrypt_moves_every_secret_to_the_new_key(r, settings_env):
    settings_env.setenv("SECRET_KEY", OLD)
    tenant = make_tenant()
    reference, digest = waiting_consent(r, OLD)
    sealed_before = r.hget(keys.integration(tenant.id), "aircall_token_enc")

    settings_env.setenv("SECRET_KEY", NEW)
    settings_env.setenv("SECRET_KEY_PREVIOUS", OLD)
    rotating = IntegrationStore(r, SecretKeys(NEW, OLD))
    assert rotating.secrets(tenant.id).aircall_token == AIRCALL_TOKEN  # still opens mid-rotation
    with pytest.raises(DecryptError):
        IntegrationStore(r, NEW).secrets(tenant.id)

    _, summary = reencrypt()

    assert summary["previous_key_set"] is True
    assert summary["integrations"] == {"resealed": 1, "current": 0, "empty": 0, "unreadable": []}
    assert summary["pending_jobber"] == {"resealed": 1, "current": 0, "empty": 0, "unreadable": []}
    assert (summary["resealed"], summary["unreadable"]) == (2, 0)
    assert r.hget(keys.integration(tenant.id), "aircall_token_enc") != sealed_before
    assert r.ttl(keys.pending_jobber(digest)) > 3000  # the consent's time to live is kept
    # The old key can go now.
    settings_env.delenv("SECRET_KEY_PREVIOUS")
    secrets = IntegrationStore(r, NEW).secrets(tenant.id)
    opened = (secrets.aircall_token, secrets.jobber_access_token, secrets.jobber_refresh_token)
    assert opened == (AIRCALL_TOKEN, JOBBER_ACCESS, JOBBER_REFRESH)
    assert PendingConnections(r, NEW).peek(reference).refresh_token == "refresh-SECRET-9"

    _, again = reencrypt()  # idempotent: nothing left to do

    assert again["resealed"] == 0 and again["integrations"]["current"] == 1
    assert again["pending_jobber"]["current"] == 1 and again["previous_key_set"] is False


def test_a_record_no_key_opens_is_listed_and_fails_the_command_without_stopping_the_rest(r, settings_env):
    settings_env.setenv("SECRET_KEY", OTHER)
    lost = make_tenant()
    settings_env.setenv("SECRET_KEY", OLD)
    kept = make_tenant()
    deleted = make_tenant()
    IntegrationStore(r, OLD).mark_deleted(deleted.id)
    settings_env.setenv("SECRET_KEY", NEW)
    settings_env.setenv("SECRET_KEY_PREVIOUS", OLD)

    code, summary = reencrypt(ok=False)

    assert code == 1
    assert summary["integrations"] == {"resealed": 1, "current": 0, "empty": 1, "unreadable": [lost.id]}
    assert IntegrationStore(r, NEW).secrets(kept.id).aircall_token == AIRCALL_TOKEN
    result = CliRunner().invoke(ajctl, ["secrets", "reencrypt"])
    assert result.exit_code == 1 and lost.id in result.stdout and "neither SECRET_KEY" in result.stderr


def test_a_token_pair_refreshed_during_the_reencrypt_is_never_overwritten(r, settings_env, monkeypatch):
    """A worker refreshes the Jobber pair (sealed with the new key) between the command's read and its write:
    the write is refused, and the next look finds the fresh pair already current."""
    import store.reseal

    settings_env.setenv("SECRET_KEY", OLD)
    tenant = make_tenant()
    rotating = IntegrationStore(r, SecretKeys(NEW, OLD))
    real_reseal, refreshed = store.reseal.reseal, []

    def reseal_then_a_worker_refreshes(keys_, ciphertext):
        new = real_reseal(keys_, ciphertext)
        if not refreshed:
            refreshed.append(True)
            rotating.set_jobber_tokens(tenant.id, "fresh-access", "fresh-refresh")
        return new

    monkeypatch.setattr(store.reseal, "reseal", reseal_then_a_worker_refreshes)

    assert rotating.reseal(tenant.id) == "resealed"  # the Aircall token, on the second look

    secrets = IntegrationStore(r, NEW).secrets(tenant.id)
    assert (secrets.jobber_access_token, secrets.jobber_refresh_token) == ("fresh-access", "fresh-refresh")
    assert secrets.aircall_token == AIRCALL_TOKEN


def test_a_purged_integration_is_not_written_back(r, settings_env, monkeypatch):
    import store.reseal

    settings_env.setenv("SECRET_KEY", OLD)
    tenant = make_tenant()
    real_reseal = store.reseal.reseal

    def reseal_then_purged(keys_, ciphertext):
        new = real_reseal(keys_, ciphertext)
        r.delete(keys.integration(tenant.id))
        return new

    monkeypatch.setattr(store.reseal, "reseal", reseal_then_purged)

    assert IntegrationStore(r, SecretKeys(NEW, OLD)).reseal(tenant.id) == "empty"
    assert not r.exists(keys.integration(tenant.id))
