"""The Jobber webhook signature (jobber-api.md §4.4): `X-Jobber-Hmac-SHA256` = Base64(HMAC-SHA256(key = the
app's client secret, message = the raw body)), checked before anything is parsed.

The expected signatures are fixed strings computed outside Python, so the check is compared with
an independent oracle rather than with a second copy of its own code:
    printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
(tests/unit/test_hostile_payloads.py covers odd headers: non-ASCII, lone surrogates, None.)"""

from __future__ import annotations

import pytest

from domain.jobber_webhooks import signature_ok

SECRET = "sandbox-client-secret"
BODY = b'{"data":{"webHookEvent":{"topic":"CLIENT_UPDATE","accountId":"acc"}}}'
BODY_SIG = "355zxbulUecWJXzI29Tf3OAJIdTrz5cKEQZ4rJHVOI4="  # openssl, over BODY with SECRET
UNICODE_BODY = "Zoë".encode()
UNICODE_SIG = "p3pfI4ebF4IC1YB1N1xN9/ioM73gl2+CYOf0+C0cekc="  # openssl, over "Zoë" (UTF-8) with SECRET
# The same HMAC, hex (openssl -r)
BODY_HEX = "df9e73c5bba551e716257cc8dbd4dfdce00921d4ebcf970a110678ac91d5388e"
EMPTY_SIG = "sutzKSK/j6NSJcwFEXBbPb8A+F0aeHCdWiuZrSr7Ip0="  # openssl, over an empty body with SECRET


@pytest.mark.parametrize(
    ("body", "header", "secret", "ok"),
    [
        pytest.param(BODY, BODY_SIG, SECRET, True, id="documented-scheme-matches-openssl"),
        pytest.param(BODY, BODY_SIG.encode(), SECRET, True, id="header-as-bytes"),
        pytest.param(UNICODE_BODY, UNICODE_SIG, SECRET, True, id="utf8-body"),
        pytest.param(BODY, f"  {BODY_SIG}\r\n", SECRET, True, id="surrounding-whitespace-tolerated"),
        pytest.param(
            BODY.replace(b"acc", b"acd"), BODY_SIG, SECRET, False, id="one-byte-of-the-body-changed"
        ),
        pytest.param(BODY + b"\n", BODY_SIG, SECRET, False, id="trailing-newline-added-to-the-body"),
        pytest.param(BODY.replace(b":", b": "), BODY_SIG, SECRET, False, id="body-re-serialised-with-spaces"),
        pytest.param(BODY, BODY_SIG, SECRET + "x", False, id="another-secret"),
        pytest.param(BODY, BODY_SIG, "", False, id="no-secret-configured-refuses-everything"),
        pytest.param(BODY, BODY_SIG.rstrip("="), SECRET, False, id="base64-padding-dropped"),
        pytest.param(BODY, BODY_SIG.lower(), SECRET, False, id="case-changed"),
        pytest.param(BODY, BODY_SIG[:-2] + "Q=", SECRET, False, id="last-character-changed"),
        pytest.param(BODY, BODY_HEX, SECRET, False, id="hex-digest-instead-of-base64"),
        pytest.param(BODY, f"sha256={BODY_SIG}", SECRET, False, id="prefixed-like-other-vendors"),
        pytest.param(BODY, UNICODE_SIG, SECRET, False, id="signature-of-another-body"),
        pytest.param(b"", BODY_SIG, SECRET, False, id="empty-body-with-another-bodys-signature"),
        pytest.param(b"", EMPTY_SIG, SECRET, True, id="empty-body-signed-is-still-a-valid-signature"),
    ],
)
def test_signature_ok(body: bytes, header: str | bytes, secret: str, ok: bool) -> None:
    assert signature_ok(body, header, secret) is ok
