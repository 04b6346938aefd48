"""The product's adapters (clients/) against the sandbox vendors over real HTTP: each vendor failure maps to
the error type the retry policy acts on."""

from __future__ import annotations

import pytest
import requests

from clients.aircall import AircallClient
from clients.errors import Disconnected, Permanent, RateLimited, Transient
from clients.jobber import AppDisconnected, JobberClient, PhoneQuery, Unauthorized
from tests.support.search_readings import SEARCH_READING_IDS, SEARCH_READINGS, use_reading


@pytest.fixture
def aircall(aircall_server):
    requests.post(f"{aircall_server}/_sandbox/reset", timeout=5)
    company = requests.post(f"{aircall_server}/_sandbox/companies", json={}, timeout=5).json()
    client = AircallClient(
        aircall_server, api_id=company["api_id"], api_token=company["api_token"], timeout=2
    )
    client.company = company
    return client


@pytest.fixture
def jobber(jobber_server):
    requests.post(f"{jobber_server}/_sandbox/reset", timeout=5)
    account = requests.post(f"{jobber_server}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    client = JobberClient(
        f"{jobber_server}/api/graphql", account["access_token"], api_version="2025-04-16", timeout=2
    )
    client.account_id = account["account"]["id"]
    client.pair = account  # its access and refresh tokens
    return client


def faults(base: str, **knobs) -> None:
    requests.post(f"{base}/_sandbox/faults", json={"reset": True, **knobs}, timeout=5).raise_for_status()


# ---- Aircall -------------------------------------------------------------------------------------


def test_aircall_company_and_webhook_lifecycle(aircall):
    assert aircall.ping()
    hook = aircall.create_webhook("https://aj.example.test/webhooks/aircall", "Jobber integration")
    assert hook.token and hook.active and hook.url.endswith("/webhooks/aircall")
    assert aircall.get_webhook(hook.id).token == hook.token
    assert aircall.enable_webhook(hook.id).active
    aircall.delete_webhook(hook.id)
    aircall.delete_webhook(hook.id)  # already gone: fine
    with pytest.raises(Permanent):
        aircall.get_webhook(hook.id)


@pytest.mark.parametrize("me_answers_api_keys", [True, False], ids=["integrations-me", "refused"])
def test_aircall_company_identity_of_an_api_key(aircall_server, aircall, me_answers_api_keys):
    """`/v1/company` has no id (aircall-api.md §8.1); `/v1/integrations/me` is documented for OAuth only.
    Either way, two keys of one company get one budget key, another company another."""
    company = aircall.company
    base = f"{aircall_server}/_sandbox/companies"
    requests.post(
        f"{base}/{company['id']}", json={"integrations_me_for_api_keys": me_answers_api_keys}, timeout=5
    )
    second = requests.post(f"{base}/{company['id']}/api_keys", timeout=5).json()
    other = requests.post(base, json={}, timeout=5).json()

    mine = aircall.company_identity(company["api_id"])
    again = AircallClient(
        aircall_server, api_id=second["api_id"], api_token=second["api_token"]
    ).company_identity()
    theirs = AircallClient(
        aircall_server, api_id=other["api_id"], api_token=other["api_token"]
    ).company_identity()

    assert mine.budget_key == again.budget_key != theirs.budget_key
    if me_answers_api_keys:
        assert (mine.company_id, mine.source) == (str(company["id"]), "integrations/me")
    else:
        assert mine.company_id is None and mine.source == "numbers"
        assert mine.budget_key == f"numbers:{min(n['id'] for n in company['numbers'])}"


def test_aircall_company_identity_without_numbers_or_users_falls_back_to_the_key(aircall_server):
    bare = requests.post(
        f"{aircall_server}/_sandbox/companies", json={"numbers": [], "users": []}, timeout=5
    ).json()
    identity = AircallClient(
        aircall_server, api_id=bare["api_id"], api_token=bare["api_token"]
    ).company_identity(bare["api_id"])
    assert identity.company_id is None and identity.source == "credentials"
    assert identity.budget_key.startswith("key:") and bare["api_id"] not in identity.budget_key


def test_aircall_company_identity_of_an_oauth_token(aircall_server, aircall):
    token = requests.post(
        f"{aircall_server}/_sandbox/companies/{aircall.company['id']}/oauth_token", timeout=5
    )
    identity = AircallClient(aircall_server, bearer_token=token.json()["access_token"]).company_identity()
    assert (identity.company_id, identity.budget_key) == (str(aircall.company["id"]),) * 2


def test_aircall_bad_credentials_are_disconnected(aircall_server, aircall):
    bad = AircallClient(aircall_server, api_id="nope", api_token="nope", timeout=2)
    with pytest.raises(Disconnected):
        bad.ping()


def test_aircall_ai_403_is_the_plan_lacking_the_feature_unless_the_credentials_fail(aircall_server, aircall):
    """403 on an AI endpoint reads two ways (aircall-api.md §6 vs §7): the plan lacks AI Assist, or the
    credentials are bad. The adapter asks /v1/ping with the same credentials to tell them apart."""
    from clients.aircall import FeatureUnavailable

    call = {"id": 4242, "status": "done", "started_at": 1_790_000_000, "ended_at": 1_790_000_060}
    base = f"{aircall_server}/_sandbox"
    requests.post(f"{base}/calls", json={"call": call, "company_id": aircall.company["id"]}, timeout=5)
    requests.post(f"{base}/companies/{aircall.company['id']}", json={"ai_assist": False}, timeout=5)

    with pytest.raises(FeatureUnavailable, match="403") as refused:
        aircall.conversation_intelligence(4242, "summary")
    assert not isinstance(refused.value, Disconnected)

    bad = AircallClient(aircall_server, api_id="nope", api_token="nope", timeout=2)
    with pytest.raises(Disconnected):
        bad.conversation_intelligence(4242, "summary")


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_aircall_429_is_rate_limited_until_the_reset(aircall_server, aircall, unit):
    company_id = aircall.company["id"]
    requests.post(
        f"{aircall_server}/_sandbox/companies/{company_id}",
        json={"rate_limit_per_min": 5, "rate_reset_unit": unit},
        timeout=5,
    )
    for _ in range(5):
        aircall.ping()
    with pytest.raises(RateLimited) as excinfo:
        aircall.ping()
    assert 1 <= excinfo.value.retry_after <= 61
    assert excinfo.value.status == 429


def test_aircall_5xx_and_timeouts_are_transient(aircall_server, aircall):
    faults(aircall_server, fail_next=1, error_status=502)
    with pytest.raises(Transient) as excinfo:
        aircall.ping()
    assert excinfo.value.status == 502 and not isinstance(excinfo.value, RateLimited)
    faults(aircall_server, latency_s=3)
    try:
        with pytest.raises(Transient, match="Timeout"):
            aircall.ping()
    finally:
        faults(aircall_server)


# ---- Jobber --------------------------------------------------------------------------------------


def test_jobber_account_and_cost_tracking(jobber):
    account = jobber.account()
    assert account.id == jobber.account_id and account.name == "Acme"
    assert jobber.last_throttle is not None and jobber.last_throttle.maximum == 10000


def test_jobber_throttled_waits_for_the_bucket(jobber_server, jobber):
    requests.post(
        # Deep in debt (it restores 500 points/s): still empty when the query comes, however slow the machine.
        f"{jobber_server}/_sandbox/bucket",
        json={"account_id": jobber.account_id, "available": -5000},
        timeout=5,
    )
    with pytest.raises(RateLimited) as excinfo:
        jobber.account()
    assert excinfo.value.retry_after >= 1


def test_jobber_throttle_knob_and_5xx(jobber_server, jobber):
    faults(jobber_server, throttle=True)
    with pytest.raises(RateLimited):
        jobber.account()
    faults(jobber_server, fail_next=1, error_status=503)
    with pytest.raises(Transient):
        jobber.account()
    faults(jobber_server)
    assert jobber.account().name == "Acme"


def test_jobber_expired_token_is_unauthorized(jobber_server, jobber):
    pair = requests.post(
        f"{jobber_server}/_sandbox/tokens",
        json={"account_id": jobber.account_id, "access_token_ttl_s": -5},
        timeout=5,
    ).json()
    expired = JobberClient(f"{jobber_server}/api/graphql", pair["access_token"], api_version="2025-04-16")
    with pytest.raises(Unauthorized):
        expired.account()


def test_jobber_disconnected_account(jobber_server, jobber):
    jobber.app_disconnect()
    with pytest.raises(Disconnected):
        jobber.account()


def test_jobber_401_saying_the_app_was_disconnected_is_not_refreshed(jobber_server, jobber):
    """A 401 whose body says the app was disconnected (jobber-api.md §1.3) is a disconnect: the tokens
    are dead, so no refresh is tried; the caller hears which token was refused. A plain expired token
    still refreshes."""
    refreshed, refused = [], []
    client = JobberClient(
        f"{jobber_server}/api/graphql",
        jobber.pair["access_token"],
        api_version="2025-04-16",
        refresh=lambda: refreshed.append(1) or "never-used",
        on_disconnected=refused.append,
    )
    requests.post(
        f"{jobber_server}/_sandbox/accounts/{jobber.account_id}/disconnect",
        json={"webhook": False},
        timeout=5,
    ).raise_for_status()

    with pytest.raises(AppDisconnected, match="User has disconnected this app") as raised:
        client.account()

    assert raised.value.status == 401 and isinstance(raised.value, Disconnected)
    assert refreshed == [] and refused == [jobber.pair["access_token"]]
    assert requests.get(f"{jobber_server}/_sandbox/token_requests", timeout=5).json() == {}


def test_jobber_expired_token_is_refreshed_once(jobber_server, jobber):
    expired = requests.post(
        f"{jobber_server}/_sandbox/tokens",
        json={"account_id": jobber.account_id, "access_token_ttl_s": -5},
        timeout=5,
    ).json()
    fresh = jobber.pair["access_token"]
    refreshed: list[int] = []
    client = JobberClient(
        f"{jobber_server}/api/graphql",
        expired["access_token"],
        api_version="2025-04-16",
        refresh=lambda: refreshed.append(1) or fresh,
    )

    assert client.account().name == "Acme"
    assert refreshed == [1]


def test_jobber_inactive_account(jobber_server, jobber):
    requests.post(
        f"{jobber_server}/_sandbox/accounts/{jobber.account_id}/active", json={"active": False}, timeout=5
    )
    with pytest.raises(Disconnected, match="not active"):
        jobber.account()


def test_jobber_user_errors_are_permanent(jobber):
    mutation = (
        "mutation C($input: ClientCreateInput!) { clientCreate(input: $input) "
        "{ client { id } userErrors { message path } } }"
    )
    with pytest.raises(Permanent, match="clientCreate"):
        jobber.mutate(mutation, {"input": {}}, "clientCreate")


@pytest.mark.parametrize(
    ("knobs", "expiry_from"),
    [
        ({}, "jwt"),
        ({"expires_in": True}, "jwt"),
        ({"expires_in": True, "opaque": True}, "expires_in"),
        ({"opaque": True}, None),
    ],
    ids=["jwt-only", "jwt-and-expires_in", "opaque-with-expires_in", "opaque-without"],
)
def test_jobber_token_expiry_from_exp_or_expires_in(jobber_server, jobber, knobs, expiry_from):
    import time

    from clients import jobber_oauth

    requests.post(
        f"{jobber_server}/_sandbox/token_options", json={**knobs, "access_token_ttl_s": 600}, timeout=5
    )
    first = requests.post(
        f"{jobber_server}/_sandbox/tokens", json={"account_id": jobber.account_id}, timeout=5
    ).json()
    pair = jobber_oauth.refresh(
        f"{jobber_server}/api/oauth",
        "sandbox-client-id",
        "sandbox-client-secret",
        first["refresh_token"],
        timeout=5,
    )
    assert JobberClient(f"{jobber_server}/api/graphql", pair.access_token, api_version="2025-04-16").account()
    if expiry_from is None:
        assert pair.expires_at is None and not jobber_oauth.expires_soon(pair.access_token, margin_s=3600)
    else:
        assert pair.expires_at == pytest.approx(time.time() + 600, abs=5)
        assert jobber_oauth.expires_soon(pair.access_token, margin_s=900, expires_at=pair.expires_at)
        assert not jobber_oauth.expires_soon(pair.access_token, margin_s=300, expires_at=pair.expires_at)


@pytest.mark.parametrize("reading", SEARCH_READINGS, ids=SEARCH_READING_IDS)
def test_jobber_phone_search_asks_every_spelling_in_one_request_and_pages_each(
    jobber_server, jobber, reading
):
    """What the adapter reads from `clientPhones`: one request with one aliased field per spelling, numbers as
    typed, the E.164 form only when Jobber gives one, and a cursor per spelling while its pages remain."""
    use_reading(jobber_server, reading)
    url = f"{jobber_server}/_sandbox/accounts/{jobber.account_id}/clients"
    for i, typed in enumerate(["(415) 555-0100", "(415) 555-0100", "+1 212 555 0100"]):
        requests.post(
            url, json={"firstName": "C", "lastName": str(i), "phones": [{"number": typed}]}, timeout=5
        )
    before = _requests_of(jobber_server, jobber.account_id)

    pages = jobber.find_phones([PhoneQuery("(415) 555-0100", 1), PhoneQuery("+14155550100", 5)])
    (more,) = jobber.find_phones([PhoneQuery("(415) 555-0100", 1, pages[0].next_cursor)])

    assert _requests_of(jobber_server, jobber.account_id) - before == 2
    typed = pages[0].hits + more.hits
    if reading["reading"] == "e164_exact":
        assert typed == [] and pages[0].next_cursor is None
    else:
        assert [h.number for h in typed] == ["(415) 555-0100"] * 2 and more.next_cursor is None
        assert pages[0].next_cursor is not None
    normalized = {h.normalized for h in typed + pages[1].hits}
    assert normalized <= ({"+14155550100"} if reading["normalized"] else {None})
    # The E.164 spelling finds the numbers typed with their country code under every reading but plain
    # substring (text as typed), and under E.164-only whatever was typed.
    found_by_e164 = {h.number for h in pages[1].hits}
    if reading["reading"] == "e164_exact" or (reading["reading"] != "substring" and reading["normalized"]):
        assert found_by_e164 == {"(415) 555-0100"}
    else:
        assert found_by_e164 == set()


def _requests_of(jobber_server: str, account_id: str) -> int:
    accounts = requests.get(f"{jobber_server}/_sandbox/accounts", timeout=5).json()
    return next(a for a in accounts if a["id"] == account_id)["graphql_requests"]


def test_the_shared_session_keeps_no_cookie_between_tenants():
    """Vendor sessions are shared by every tenant of a process: a Set-Cookie from one tenant's answer must
    never ride along with another tenant's request."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from clients.http import send, shared_session
    from sandbox.common import ServerThread

    async def echo(request: Request) -> JSONResponse:
        response = JSONResponse({"cookie": request.headers.get("cookie")})
        response.set_cookie("tenant", "alpha")
        return response

    server = ServerThread(Starlette(routes=[Route("/", echo)])).start()
    try:
        transport = shared_session("jobber")
        assert send(transport, "jobber", "GET", server.url, 5).json() == {"cookie": None}
        assert send(transport, "jobber", "GET", server.url, 5).json() == {
            "cookie": None
        }  # "tenant=alpha" not kept
    finally:
        server.stop()


@pytest.mark.parametrize("e164", ["+14155550100", "+33612345678", "+447700900123"])
def test_a_caller_lookup_is_one_request_well_inside_the_cost_bucket(jobber_server, jobber, e164):
    """Every spelling in one request (SPEC F5): its requested query cost stays under a tenth
    of the 10,000-point bucket (the figure `make bench` reports as jobber_lookup_requested_cost)."""
    from flows.client_search import search_client

    before = _requests_of(jobber_server, jobber.account_id)

    assert search_client(jobber, e164, None) is None

    assert _requests_of(jobber_server, jobber.account_id) - before == 1
    cost = requests.get(f"{jobber_server}/_sandbox/costs", timeout=5).json()["FindByPhone"]
    assert cost["operations"] == 1 and cost["max"] <= 1000


# ---- Jobber API versions (jobber-api.md §1.2) -------------------------------------------------------------


@pytest.fixture
def version_notices(monkeypatch):
    """The notices the adapter reports, with its once-per-process log memory fresh for the test."""
    from clients import jobber as adapter

    seen: list[adapter.VersionNotice] = []
    monkeypatch.setattr(adapter, "_logged_notices", set())
    monkeypatch.setattr(adapter, "VERSION_OBSERVERS", [*adapter.VERSION_OBSERVERS, seen.append])
    return seen


def test_an_unsupported_version_is_reported_on_every_answer_and_logged_once(
    jobber_server, jobber, version_notices, caplog
):
    from clients.jobber import VersionNotice

    old = JobberClient(f"{jobber_server}/api/graphql", jobber.pair["access_token"], api_version="2023-08-18")
    current = JobberClient(
        f"{jobber_server}/api/graphql", jobber.pair["access_token"], api_version="2025-04-16"
    )
    with caplog.at_level("WARNING", logger="clients.jobber"):
        for _ in range(3):
            assert old.account().name == "Acme"
        current.account()

    assert len(version_notices) == 3 and len(set(version_notices)) == 1
    notice = version_notices[0]
    assert (notice.requested, notice.answered) == ("2023-08-18", "2023-08-18")
    assert "Support for API version 2023-08-18 has ended" in notice.warning
    logged = [r.getMessage() for r in caplog.records if "jobber.api_version.warning" in r.getMessage()]
    assert logged == [
        f"jobber.api_version.warning requested=2023-08-18 answered=2023-08-18 warning={notice.warning}"
    ]
    assert VersionNotice("2025-04-16", "2025-04-16", "") not in version_notices  # served as asked: nothing


def test_a_removed_version_silently_upgraded_is_reported(jobber_server, jobber, version_notices, caplog):
    removed = JobberClient(
        f"{jobber_server}/api/graphql", jobber.pair["access_token"], api_version="2022-03-10"
    )
    with caplog.at_level("WARNING", logger="clients.jobber"):
        removed.account()
        removed.account()

    assert {(n.requested, n.answered) for n in version_notices} == {("2022-03-10", "2024-04-17")}
    assert sum("requested=2022-03-10 answered=2024-04-17" in r.getMessage() for r in caplog.records) == 1


def test_an_upgrade_without_a_warning_is_still_a_notice() -> None:
    """Jobber documents the warning for unsupported versions; an upgraded answer might come without one
    (UNCONFIRMED): the other version alone is enough."""
    from clients.jobber import VersionNotice, version_notice

    body = {"data": {}, "extensions": {"versioning": {"version": "2024-04-17"}}}
    assert version_notice("2022-03-10", body) == VersionNotice("2022-03-10", "2024-04-17", "")
    assert version_notice("2024-04-17", body) is None
    assert version_notice("2024-04-17", {"data": {}}) is None
    assert version_notice("2024-04-17", {"extensions": {"versioning": "odd"}}) is None


def test_the_client_card_reads_area_custom_fields(jobber_server):
    """The card query selects every member of CustomFieldUnion the schema has, CustomFieldArea included; the
    seeded demo clients carry a "Lawn area"."""
    from config.integration import InsightCard
    from domain.cards import TIMES, custom_card

    requests.post(f"{jobber_server}/_sandbox/reset", timeout=5)
    account = requests.post(
        f"{jobber_server}/_sandbox/accounts", json={"name": "Acme", "seed_clients": 40}, timeout=5
    ).json()
    client = JobberClient(f"{jobber_server}/api/graphql", account["access_token"], api_version="2025-04-16")
    state = requests.get(f"{jobber_server}/_sandbox/state", timeout=5).json()["accounts"][0]["clients"]
    with_area = [c for c in state if "Lawn area" in c["customFields"]]
    assert with_area, "the seed gives some clients a lawn area"
    expected = with_area[0]["customFields"]["Lawn area"]

    card = client.client_card(with_area[0]["id"])

    [area] = [f for f in card["customFields"] if f.get("label") == "Lawn area"]
    assert area == {"label": "Lawn area", "unit": "ft", "valueArea": expected}
    items = custom_card(card, InsightCard(custom=True, fields=["custom:Lawn area"]))
    assert items[1]["text"] == f"{expected['length']:g} {TIMES} {expected['width']:g} ft"
