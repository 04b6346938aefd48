"""Operator surfaces (issues 10, 16): the public webhook port serves /metrics only to whoever presents
METRICS_TOKEN as a bearer token, and to nobody when it is unset (the peer address grants nothing: uvicorn
rewrites it from X-Forwarded-For); Flower, started as the Procfile starts it, listens on loopback unless
FLOWER_BASIC_AUTH is set, then asks everyone for those credentials."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.poll import until

pytestmark = pytest.mark.flow

ROOT = Path(__file__).resolve().parents[2]
REMOTE = {"X-Forwarded-For": "203.0.113.7"}  # what a reverse proxy says for a visitor
SPOOFED = {"X-Forwarded-For": "127.0.0.1"}  # what a visitor says to look local


@pytest.fixture
def ingest_with(settings_env) -> Iterator[object]:
    """An ingest built with extra environment (a value None: unset), served on loopback."""
    from config.settings import Settings
    from ingest.app import create_app
    from sandbox.common import ServerThread

    servers = []

    def start(**env: str | None) -> str:
        for name, value in env.items():
            if value is None:
                settings_env.delenv(name, raising=False)
            else:
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


def test_without_a_token_metrics_are_closed_to_everyone_loopback_included(r, ingest_with):
    url = ingest_with(METRICS_TOKEN=None)

    for headers in ({}, REMOTE, SPOOFED, {"Authorization": "Bearer "}):
        refused = scrape(url, **headers)
        assert refused.status_code == 403, headers
        assert "aj_" not in refused.text
        assert "METRICS_TOKEN" in refused.json()["error"]


def test_with_a_token_metrics_need_it_from_everyone(r, ingest_with):
    url = ingest_with(METRICS_TOKEN="scrape-SECRET-42")

    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic scrape-SECRET-42"},
        {"Authorization": "Bearer scrape-SECRET-42x"},
        {"Authorization": "Bearer é"},
        SPOOFED,
    ):
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


def procfile_command(role: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == role:
            return command.strip()
    raise AssertionError(f"no {role} role in the Procfile")


def outward_address() -> str:
    """This host's address on its network (a visitor's view of it), else loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route's source address
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


@pytest.fixture
def procfile_ingest(r, tmp_path) -> Iterator[object]:
    """The Procfile's ingest role (uvicorn with its proxy headers on) behind a load balancer that everyone
    may claim to be (FORWARDED_ALLOW_IPS=*), listening on every address as in production."""
    from sandbox.redis_server import free_port

    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> str:
        port, output = free_port(), tmp_path / f"ingest-{len(started)}.log"
        full = {k: v for k, v in os.environ.items() if k != "METRICS_TOKEN"}
        path = f"{Path(sys.executable).parent}:{full.get('PATH', '')}"
        full |= {"PATH": path, "PORT": str(port), "FORWARDED_ALLOW_IPS": "*", **env}
        full.pop("INGEST_HOST", None)
        command = ["bash", "-c", procfile_command("ingest")]
        with output.open("wb") as sink:
            proc = subprocess.Popen(
                command, cwd=ROOT, env=full, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        started.append(proc)
        url = f"http://{outward_address()}:{port}"

        def ready() -> bool:
            assert proc.poll() is None, output.read_text()
            try:
                return requests.get(f"{url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        until(ready, timeout=60, what="the Procfile's ingest to serve")
        return url

    yield start
    for proc in started:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def test_a_spoofed_forwarded_for_gets_no_metrics_from_the_procfile_ingest(procfile_ingest):
    """uvicorn believes X-Forwarded-For from any peer here, so a visitor who says 127.0.0.1 becomes 127.0.0.1:
    only the token opens /metrics, whether or not one is configured."""
    closed = procfile_ingest()
    for headers in (SPOOFED, {"X-Forwarded-For": "::1"}, {"X-Forwarded-For": "127.0.0.1, 127.0.0.1"}):
        refused = scrape(closed, **headers)
        assert refused.status_code == 403 and "aj_" not in refused.text, headers

    guarded = procfile_ingest(METRICS_TOKEN="scrape-SECRET-42")
    refused = scrape(guarded, **SPOOFED)
    assert refused.status_code == 401 and "aj_" not in refused.text
    allowed = scrape(guarded, Authorization="Bearer scrape-SECRET-42")
    assert allowed.status_code == 200 and "aj_webhooks_received_total" in allowed.text


# ---- Flower ---------------------------------------------------------------------------------------


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
            proc = subprocess.Popen(
                ["bash", "-c", procfile_command("flower")],
                cwd=ROOT,
                env=full,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
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


@pytest.mark.slow
def test_flower_without_credentials_listens_on_loopback_only(flower):
    _, port, _ = flower(FLOWER_HOST="0.0.0.0")  # what compose and a careless .env would say

    until(lambda: up(port), timeout=60, what="flower to serve")

    assert listening(port) == {"127.0.0.1"}
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200


@pytest.mark.slow
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
