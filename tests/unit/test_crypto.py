"""store/crypto.py: the derivation stays what it was (values stored before rotation existed still open), a
rotation opens what the previous key sealed and seals with the current one, OAuth `state` included."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from config.secret_key import SecretKeys
from store.crypto import DecryptError, decrypt, encrypt, open_state, reseal, seal_state

OLD, NEW = "old-key-5N0pQ7rT2vX9zB4dF6hJ8kL1mW3yC0aE", "new-key-Gq8Rt3Yw6Ui1Op4As7Df0Gh2Jk5Lz9Xc"
ROTATING = SecretKeys(NEW, OLD)


def fernet_as_before(secret_key: str, info: bytes) -> Fernet:
    """The derivation as it was written before rotation support (issue 16)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def test_values_sealed_before_rotation_existed_still_open() -> None:
    stored = fernet_as_before(OLD, b"aj/token-encryption/v1").encrypt(b"token-1").decode()
    state = fernet_as_before(OLD, b"aj/oauth-state/v1").encrypt(b'{"kind": "aircall"}').decode()

    assert decrypt(OLD, stored) == decrypt(SecretKeys(OLD), stored) == "token-1"
    assert open_state(OLD, state) == {"kind": "aircall"}
    assert fernet_as_before(OLD, b"aj/token-encryption/v1").decrypt(encrypt(OLD, "t").encode()) == b"t"


def test_a_rotation_opens_the_previous_keys_values_and_seals_with_the_current_key() -> None:
    old_value = encrypt(OLD, "token-1")

    assert decrypt(ROTATING, old_value) == "token-1"
    assert decrypt(NEW, encrypt(ROTATING, "token-2")) == "token-2"  # new values need only the new key
    with pytest.raises(DecryptError):
        decrypt(NEW, old_value)


def test_reseal_moves_a_value_to_the_current_key_once() -> None:
    old_value = encrypt(OLD, "token-1")

    resealed = reseal(ROTATING, old_value)

    assert resealed is not None and decrypt(NEW, resealed) == "token-1"
    assert reseal(ROTATING, resealed) is None  # already current: nothing to write
    with pytest.raises(DecryptError):
        reseal(ROTATING, encrypt("a-third-key-nobody-configured-1234567", "x"))


def test_an_oauth_state_sealed_before_the_restart_opens_during_the_rotation() -> None:
    state = seal_state(OLD, {"kind": "jobber", "integration": "int_1"})

    assert open_state(ROTATING, state) == {"kind": "jobber", "integration": "int_1"}
    assert open_state(NEW, state) is None  # after the rotation, an old state is refused
    assert open_state(ROTATING, seal_state("a-third-key-nobody-configured-1234567", {"k": "v"})) is None
    assert open_state(OLD, seal_state(ROTATING, {"k": "v"})) is None  # sealed with the new key


def test_an_old_state_is_still_refused_when_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    state = seal_state(OLD, {"k": "v"})
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 901)

    assert open_state(ROTATING, state, max_age_s=900) is None
