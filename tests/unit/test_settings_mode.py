"""Sandbox mode is explicit (SANDBOX_MODE); outside it PUBLIC_URL must be https and SECRET_KEY set, or every
role refuses to start with one message naming the variable and what to do."""

from __future__ import annotations

import pytest

from config.secret_key import SecretKeys
from config.settings import ConfigError, Settings, get_settings

STRONG = "Zq4-rT9vXw2Lp7Ns1Kd8Hf3Bj6Mc0Ga5Ye"  # 34 characters, no repeats

LOCAL_VENDORS = {
    "AIRCALL_API_URL": "http://127.0.0.1:8102",
    "JOBBER_API_URL": "http://127.0.0.1:8101/api/graphql",
}


def production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "SANDBOX_MODE": False,
        "PUBLIC_URL": "https://aj.example.com",
        "SECRET_KEY": STRONG,
    }
    return Settings(**(values | overrides))


def test_a_production_configuration_has_no_problems() -> None:
    settings = production()
    assert settings.problems() == []
    settings.require_runnable()
    assert settings.secret_key() == SecretKeys(STRONG)
    assert not settings.is_sandbox


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"PUBLIC_URL": "http://aj.example.com"}, ["PUBLIC_URL"]),
        ({"SECRET_KEY": None}, ["SECRET_KEY"]),
        ({"SECRET_KEY": ""}, ["SECRET_KEY"]),
        ({"PUBLIC_URL": "http://localhost:8000", "SECRET_KEY": None}, ["PUBLIC_URL", "SECRET_KEY"]),
    ],
    ids=["http", "no-secret", "empty-secret", "both"],
)
def test_outside_sandbox_mode_http_or_no_secret_is_refused_naming_the_variable(
    overrides: dict[str, object], names: list[str]
) -> None:
    settings = production(**overrides)

    problems = settings.problems()
    with pytest.raises(ConfigError) as refused:
        settings.require_runnable()

    assert [p.split(" ", 1)[0] for p in problems] == names
    message = str(refused.value)
    assert all(name in message for name in names)
    assert "SANDBOX_MODE=true" in message  # what to do when it is a development machine
    if "PUBLIC_URL" in names:
        assert "https" in message and "Aircall refuses http webhook URLs" in message


def test_vendors_on_loopback_no_longer_mean_sandbox_mode() -> None:
    """Before, the sandbox was inferred from loopback vendor URLs, and with it a fixed secret: a production
    process pointed at a local proxy would have encrypted tokens with a published key."""
    settings = production(SECRET_KEY=None, **LOCAL_VENDORS)

    assert not settings.is_sandbox
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        settings.secret_key()


def test_sandbox_mode_allows_http_and_falls_back_to_the_sandbox_secret() -> None:
    settings = production(SANDBOX_MODE=True, PUBLIC_URL="http://127.0.0.1:8000", SECRET_KEY=None)

    assert settings.is_sandbox and settings.problems() == []
    settings.require_runnable()
    assert settings.secret_key().current.startswith("aj-sandbox-only")


def test_get_settings_refuses_what_must_not_run(settings_env) -> None:
    settings_env.setenv("SANDBOX_MODE", "false")
    settings_env.setenv("SECRET_KEY", STRONG)
    settings_env.setenv("PUBLIC_URL", "http://aj.example.com")

    with pytest.raises(ConfigError, match="PUBLIC_URL must be an https:// URL"):
        get_settings()

    settings_env.setenv("PUBLIC_URL", "https://aj.example.com")
    assert get_settings().PUBLIC_URL == "https://aj.example.com"


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("a-long-random-secret", "too short (20 characters; at least 32)"),
        ("changeme-changeme-changeme-changeme", "too predictable"),
        ("passwordpasswordpasswordpassword", "too predictable"),
        ("0123456789" * 4, "too predictable"),
        ("x" * 64, "too predictable"),
        ("aj-sandbox-only-secret-never-use-in-production", "the sandbox's published key"),
    ],
)
def test_a_short_or_predictable_secret_key_is_refused_without_quoting_it(key: str, why: str) -> None:
    settings = production(SECRET_KEY=key)

    with pytest.raises(ConfigError) as refused:
        settings.require_runnable()

    message = str(refused.value)
    assert message.startswith("SECRET_KEY is") and why in message
    assert "secrets.token_urlsafe(48)" in message  # how to make one
    assert key not in message


def test_random_keys_pass_and_the_previous_key_is_never_judged() -> None:
    import secrets

    for key in (
        secrets.token_hex(16),
        secrets.token_urlsafe(24),
        secrets.token_urlsafe(48),
        secrets.token_hex(32),
    ):
        assert production(SECRET_KEY=key).problems() == [], key
    # Rotating away from a weak key is the point: the old one only opens what it sealed.
    rotating = production(SECRET_KEY_PREVIOUS="weak")
    assert rotating.problems() == []
    assert rotating.secret_key() == SecretKeys(STRONG, "weak")
    assert rotating.secret_key().all == (STRONG, "weak")
    assert production(SECRET_KEY_PREVIOUS=STRONG).secret_key().all == (STRONG,)


def test_sandbox_mode_does_not_judge_the_key() -> None:
    assert production(SANDBOX_MODE=True, SECRET_KEY="short").problems() == []
