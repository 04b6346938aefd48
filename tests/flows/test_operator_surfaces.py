"""Operator surfaces (issue 10): the public webhook port serves /metrics only to loopback peers unless
METRICS_TOKEN is set, then only with that bearer token; Flower, started as the Procfile starts it, listens on
loopback unless FLOWER_BASIC_AUTH is set, then asks everyone for those credentials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.poll import until

ROOT = Path(__file__).resolve().parents[2]
REMOTE = {
    "X-Forwarded-For": "203.0.113.7"
}  # what a reverse proxy on this host says (uvicorn trusts loopback)


@pytest.fixture
def ingest_with(settings_env) -> Iterator[object]:
    """An ingest built with extra environment, served on loopback."""
    from config.settings import Settings
    from ingest.app import create_app
    from sandbox.common import ServerThread

    servers = []

    def start(**env: str) -> str:
        for name, value in env.items():
            settings_env.setenv(name, value)
        server = ServerThread(create_app(Settings())).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def scrape(url: str, **headers: str) -> requests.Response:
    return requests.get(f"{url}/metrics", headers=headers, timeout=5)


# ---- /metrics -------------------------------------------------------------------------------------


def test_without_a_token_metrics_are_served_to_loopback_peers_only(r, ingest_url):
    assert scrape(ingest_url).status_code == 200
    assert "aj_webhooks_received_total" in scrape(ingest_url).text

    remote = scrape(ingest_url, **REMOTE)

    assert remote.status_code == 403
    assert "aj_" not in remote.text
    assert "METRICS_TOKEN" in remote.json()["error"]


def test_with_a_token_metrics_need_it_from_everyone(r, ingest_with):
    url = ingest_with(METRICS_TOKEN="scrape-SECRET-42")

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic scrape-SECRET-42"},
                    {"Authorization": "Bearer scrape-SECRET-42x"}, {"Authorization": "Bearer é"}):  # fmt: skip
        refused = scrape(url, **headers)
        assert refused.status_code == 401, headers
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert "aj_" not in refused.text

    for headers in ({}, REMOTE):
        allowed = scrape(url, Authorization="Bearer scrape-SECRET-42", **headers)
        assert allowed.status_code == 200
        assert "aj_webhooks_received_total" in allowed.text


def test_the_public_port_still_serves_vendors_and_probes(r, ingest_with):
    url = ingest_with(METRICS_TOKEN="scrape-SECRET-42")
    for path in ("/healthz", "/readyz"):
        assert requests.get(f"{url}{path}", headers=REMOTE, timeout=5).status_code == 200
    assert requests.post(f"{url}/webhooks/aircall", json={}, headers=REMOTE, timeout=5).status_code == 400


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True), ("10.0.0.1", False),
     ("::ffff:10.0.0.1", False), ("fd00::2", False), ("localhost", False), ("", False), (None, False)],
)  # fmt: skip
def test_loopback_means_the_address_not_the_name(host, loopback):
    from ingest.access import is_loopback

    assert is_loopback(host) is loopback


# ---- Flower ---------------------------------------------------------------------------------------


def procfile_command(role: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == role:
            return command.strip()
    raise AssertionError(f"no {role} role in the Procfile")


def listening(port: int) -> set[str]:
    """Local addresses with a socket listening on `port`, from the kernel's tables (IPv4 and IPv6)."""
    import ipaddress

    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, port_hex = local.partition(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # the kernel prints each 32-bit word in host (little-endian) order
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
                found.add(str(ipaddress.ip_address(words)))
    return found


@pytest.fixture
def flower(tmp_path) -> Iterator[object]:
    """Start the Procfile's flower role with some environment (its output in a file, so a full pipe never
    blocks it); stop what was started."""
    from sandbox.redis_server import free_port

    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> tuple[subprocess.Popen[bytes], int, Path]:
        port, output = free_port(), tmp_path / f"flower-{len(started)}.log"
        full = {k: v for k, v in os.environ.items() if not k.startswith("FLOWER_")}
        full |= {
            "PATH": f"{Path(sys.executable).parent}:{full.get('PATH', '')}",
            "FLOWER_PORT": str(port),
            **env,
        }
        with output.open("wb") as sink:
            proc = subprocess.Popen(["bash", "-c", procfile_command("flower")], cwd=ROOT, env=full, stdout=sink,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        started.append(proc)
        return proc, port, output

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def up(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_flower_without_credentials_listens_on_loopback_only(flower):
    _, port, _ = flower(FLOWER_HOST="0.0.0.0")  # what compose and a careless .env would say

    until(lambda: up(port), timeout=60, what="flower to serve")

    assert listening(port) == {"127.0.0.1"}
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200


def test_flower_with_credentials_asks_for_them_and_keeps_them_off_the_command_line(flower):
    proc, port, _ = flower(FLOWER_HOST="0.0.0.0", FLOWER_BASIC_AUTH="ops:flower-SECRET-7")

    until(lambda: up(port), timeout=60, what="flower to serve")

    assert listening(port) & {"0.0.0.0", "::"}
    base = f"http://127.0.0.1:{port}/"
    assert requests.get(base, timeout=5).status_code == 401
    assert requests.get(base, auth=("ops", "wrong"), timeout=5).status_code == 401
    assert requests.get(base, auth=("ops", "flower-SECRET-7"), timeout=5).status_code == 200
    command_line = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    assert b"flower-SECRET-7" not in command_line


@pytest.mark.parametrize("value", ["ops", "ops:", ":SECRET-1", "ops:pa,SECRET-2", "ops:SECRET-3,"])
def test_flower_refuses_to_start_with_malformed_credentials(flower, value):
    proc, port, log = flower(FLOWER_BASIC_AUTH=value)

    proc.wait(timeout=60)
    output = log.read_text()

    assert proc.returncode != 0
    assert "FLOWER_BASIC_AUTH" in output
    assert "SECRET" not in output  # never echo a password back
    assert not listening(port)
