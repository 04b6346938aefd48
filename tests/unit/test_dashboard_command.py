"""worker/dashboard.py: the Flower command line the `flower` role runs, from the environment."""

import pytest

from worker.dashboard import CredentialsError, command, credentials


@pytest.mark.parametrize(
    ("env", "auth", "address"),
    [
        ({}, None, "127.0.0.1"),
        ({"FLOWER_HOST": "0.0.0.0"}, None, "127.0.0.1"),
        ({"FLOWER_HOST": "0.0.0.0"}, "  ", "127.0.0.1"),
        ({"FLOWER_ADDRESS": "0.0.0.0"}, None, "127.0.0.1"),
        ({}, "ops:pw", "0.0.0.0"),
        ({"FLOWER_HOST": "10.1.2.3"}, "ops:pw", "10.1.2.3"),
    ],
)
def test_flower_listens_beyond_loopback_only_with_credentials(env, auth, address):
    argv, child_env = command({"PATH": "/bin", **env}, auth)

    assert argv[:4] == ["celery", "-A", "worker.app", "flower"]
    assert f"--address={address}" in argv
    assert not any("pw" in arg for arg in argv)  # never on the command line
    assert child_env.get("FLOWER_BASIC_AUTH") == (auth if auth and auth.strip() else None)
    assert "FLOWER_ADDRESS" not in child_env  # Flower would read it itself


def test_several_pairs_are_kept_and_malformed_ones_refused():
    assert credentials("a:1, b:2") == ["a:1", "b:2"]
    for value in ("ops", "ops:", ":SECRET", "ops:pa,SECRET", "a:SECRET,"):
        with pytest.raises(CredentialsError) as refused:
            credentials(value)
        assert "SECRET" not in str(refused.value)
