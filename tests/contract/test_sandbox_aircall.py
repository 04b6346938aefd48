"""Contract tests of the Aircall emulator over real HTTP: auth, webhooks, calls, insight cards, CI
endpoints, contacts, numbers/users, rate limit, fault knobs and OAuth."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from sandbox.aircall import create_app
from sandbox.common import Faults, ServerThread


@pytest.fixture(scope="module")
def faults() -> Faults:
    return Faults()


@pytest.fixture(scope="module")
def server(faults: Faults) -> Iterator[str]:
    thread = ServerThread(create_app(faults=faults, rate_limit_per_min=100_000)).start()
    yield thread.url
    thread.stop()


@pytest.fixture(autouse=True)
def _clean_faults(faults: Faults) -> Iterator[None]:
    faults.reset()
    yield
    faults.reset()


@pytest.fixture(scope="module")
def company(server: str) -> dict[str, Any]:
    r = requests.post(f"{server}/_sandbox/companies", json={"name": "Acme", "oauth_token": True}, timeout=5)
    assert r.status_code == 201
    return r.json()


@pytest.fixture
def http(company: dict[str, Any]) -> requests.Session:
    s = requests.Session()
    s.auth = (company["api_id"], company["api_token"])
    return s


def register_call(server: str, company: dict[str, Any], call_id: int, **fields: Any) -> dict[str, Any]:
    call = {
        "id": call_id,
        "direction": "inbound",
        "status": "initial",
        "started_at": 1_700_000_000 + call_id % 1000,
        "raw_digits": "+1 415-555-0100",
        "number": company["numbers"][0],
        "participants": [{"type": "external", "phone_number": "+1 415-555-0100"}],
        **fields,
    }
    r = requests.post(f"{server}/_sandbox/calls", json={"call": call, "company_id": company["id"]}, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()["call"]


# --- auth -----------------------------------------------------------------------------------------------


def test_basic_auth_ok_and_bad(server: str, http: requests.Session, company: dict[str, Any]) -> None:
    assert http.get(f"{server}/v1/ping").json() == {"ping": "pong"}
    bad = requests.get(f"{server}/v1/ping", auth=(company["api_id"], "wrong"), timeout=5)
    assert bad.status_code == 403
    assert set(bad.json()) >= {"error", "troubleshoot"}
    assert requests.get(f"{server}/v1/ping", timeout=5).status_code == 403
    assert (
        requests.get(f"{server}/v1/ping", headers={"Authorization": "Basic !!"}, timeout=5).status_code == 403
    )


def test_bearer_auth_ok_and_bad(server: str, company: dict[str, Any]) -> None:
    ok = requests.get(
        f"{server}/v1/company", headers={"Authorization": f"Bearer {company['oauth_token']}"}, timeout=5
    )
    assert ok.status_code == 200 and ok.json()["company"]["name"] == "Acme"
    bad = requests.get(f"{server}/v1/company", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bad.status_code == 403 and "troubleshoot" in bad.json()


def test_integration_me_enable_disable(server: str, http: requests.Session, company: dict[str, Any]) -> None:
    bearer = {"Authorization": f"Bearer {company['oauth_token']}"}
    me = requests.get(f"{server}/v1/integrations/me", headers=bearer, timeout=5).json()["integration"]
    assert me["company_id"] == company["id"] and me["number_ids"] == [company["numbers"][0]["id"]]
    # Documented for OAuth tokens; an API key is refused unless the company says otherwise (UNCONFIRMED).
    assert http.get(f"{server}/v1/integrations/me").status_code == 403
    requests.post(
        f"{server}/_sandbox/companies/{company['id']}", json={"integrations_me_for_api_keys": True}, timeout=5
    )
    assert http.get(f"{server}/v1/integrations/me").json()["integration"]["company_id"] == company["id"]
    assert me["numbers_count"] == 1 and me["active"] is True
    assert http.post(f"{server}/v1/integrations/disable").json()["integration"]["active"] is False
    assert http.post(f"{server}/v1/integrations/enable").json()["integration"]["active"] is True


def test_numbers_and_users(server: str, http: requests.Session, company: dict[str, Any]) -> None:
    numbers = http.get(f"{server}/v1/numbers").json()
    assert numbers["meta"]["total"] == 1
    n = numbers["numbers"][0]
    assert {"id", "name", "digits", "country", "time_zone"} <= set(n) and "e164_digits" not in n
    assert n["digits"] == "+1 415-555-0199"
    assert http.get(f"{server}/v1/numbers/{n['id']}").json()["number"]["id"] == n["id"]
    assert http.get(f"{server}/v1/numbers/1").status_code == 404
    users = http.get(f"{server}/v1/users").json()["users"]
    assert [u["name"] for u in users] == ["Madelaine Dupont", "Joe Bloggs"]
    v2 = http.get(f"{server}/v2/users").json()["users"]
    assert v2[0]["first_name"] == "Madelaine" and v2[0]["email"] == "madelaine@acme.com"


# --- webhooks -------------------------------------------------------------------------------------------


def test_webhook_crud(server: str, http: requests.Session) -> None:
    r = http.post(
        f"{server}/v1/webhooks",
        json={
            "url": "https://example.com/hook",
            "custom_name": "Jobber sync",
            "events": ["call.created", "call.ended"],
        },
    )
    assert r.status_code == 201
    w = r.json()["webhook"]
    assert set(w) == {
        "webhook_id",
        "direct_link",
        "created_at",
        "custom_name",
        "url",
        "active",
        "events",
        "token",
    }
    assert len(w["webhook_id"]) == 36 and w["active"] is True and w["token"]
    assert w["events"] == ["call.created", "call.ended"] and w["custom_name"] == "Jobber sync"
    wid = w["webhook_id"]
    assert http.get(f"{server}/v1/webhooks/{wid}").json()["webhook"]["token"] == w["token"]
    legacy_id = w["direct_link"].rsplit("/", 1)[1]
    assert http.get(f"{server}/v1/webhooks/{legacy_id}").json()["webhook"]["webhook_id"] == wid
    listing = http.get(f"{server}/v1/webhooks").json()
    assert wid in [x["webhook_id"] for x in listing["webhooks"]] and listing["meta"]["current_page"] == 1
    upd = http.put(f"{server}/v1/webhooks/{wid}", json={"active": False, "custom_name": "x"}).json()[
        "webhook"
    ]
    assert upd["active"] is False and upd["custom_name"] == "x"
    assert len(upd["events"]) > 50  # events omitted -> reset to all events
    added = http.put(f"{server}/v1/webhooks/{wid}?events_action=remove", json={"events": ["call.created"]})
    assert "call.created" not in added.json()["webhook"]["events"]
    assert http.delete(f"{server}/v1/webhooks/{wid}").status_code == 204
    assert http.get(f"{server}/v1/webhooks/{wid}").status_code == 404


def test_webhook_validation(server: str, http: requests.Session) -> None:
    assert http.post(f"{server}/v1/webhooks", json={}).status_code == 400
    assert http.post(f"{server}/v1/webhooks", json={"url": "not a url"}).status_code == 400
    assert (
        http.post(f"{server}/v1/webhooks", json={"url": "https://x.io", "events": ["call.nope"]}).status_code
        == 400
    )
    all_events = http.post(f"{server}/v1/webhooks", json={"url": "https://x.io", "events": []}).json()[
        "webhook"
    ]
    assert "call.ended" in all_events["events"] and "message.received" in all_events["events"]
    http.delete(f"{server}/v1/webhooks/{all_events['webhook_id']}")


def test_webhook_limit_and_oauth_visibility() -> None:
    thread = ServerThread(create_app(max_webhooks=2)).start()
    try:
        c = requests.post(f"{thread.url}/_sandbox/companies", json={"oauth_token": True}, timeout=5).json()
        basic = (c["api_id"], c["api_token"])
        bearer = {"Authorization": f"Bearer {c['oauth_token']}"}
        assert (
            requests.post(f"{thread.url}/v1/webhooks", json={"url": "https://a.io"}, auth=basic).status_code
            == 201
        )
        assert (
            requests.post(
                f"{thread.url}/v1/webhooks", json={"url": "https://b.io"}, headers=bearer
            ).status_code
            == 201
        )
        assert (
            requests.post(f"{thread.url}/v1/webhooks", json={"url": "https://c.io"}, auth=basic).status_code
            == 400
        )
        # OAuth sees only its own webhooks; Basic sees the others.
        assert [
            w["url"] for w in requests.get(f"{thread.url}/v1/webhooks", headers=bearer).json()["webhooks"]
        ] == ["https://b.io"]
        assert [
            w["url"] for w in requests.get(f"{thread.url}/v1/webhooks", auth=basic).json()["webhooks"]
        ] == ["https://a.io"]
    finally:
        thread.stop()


# --- calls, insight cards, CI ---------------------------------------------------------------------------


def test_calls_list_pagination_and_get(server: str, http: requests.Session, company: dict[str, Any]) -> None:
    for i in range(5):
        register_call(server, company, 5_000_000_000 + i, started_at=1_600_000_000 + i)
    r = http.get(
        f"{server}/v1/calls", params={"per_page": 2, "from": 1_600_000_000, "to": 1_600_000_010}
    ).json()
    assert r["meta"]["total"] == 5 and r["meta"]["count"] == 2 and r["meta"]["per_page"] == 2
    assert r["meta"]["previous_page_link"] is None and "page=2" in r["meta"]["next_page_link"]
    page2 = http.get(r["meta"]["next_page_link"]).json()
    assert page2["meta"]["current_page"] == 2 and page2["meta"]["previous_page_link"]
    page3 = http.get(page2["meta"]["next_page_link"]).json()
    assert page3["meta"]["count"] == 1 and page3["meta"]["next_page_link"] is None
    desc = http.get(
        f"{server}/v1/calls", params={"order": "desc", "from": 1_600_000_000, "to": 1_600_000_010}
    )
    assert desc.json()["calls"][0]["id"] == 5_000_000_004
    assert http.get(f"{server}/v1/calls", params={"per_page": 51}).status_code == 400
    call = http.get(f"{server}/v1/calls/5000000001").json()["call"]
    assert call["id"] == 5_000_000_001 and isinstance(call["id"], int)
    assert (
        "conference_participants" in call
        and "participants" not in call
        and "e164_digits" not in call["number"]
    )
    assert http.get(f"{server}/v1/calls/1").status_code == 404


def test_paging_stops_at_the_ceiling_and_the_knob_resets(
    server: str, http: requests.Session, company: dict[str, Any]
) -> None:
    """Aircall's lists stop paging at 10,000 items (reference §2); the ceiling is a run-time knob (cleared by
    null or a reset) so a test can meet it with a few calls. `meta.total` still counts the whole window."""
    for i in range(7):
        register_call(server, company, 5_100_000_000 + i, started_at=1_610_000_000 + i)
    window = {"from": 1_610_000_000, "to": 1_610_000_010, "per_page": 2}
    assert requests.post(f"{server}/_sandbox/paging", json={"ceiling": 4}, timeout=5).json() == {"ceiling": 4}

    page2 = http.get(f"{server}/v1/calls", params={**window, "page": 2}).json()
    past = http.get(f"{server}/v1/calls", params={**window, "page": 3})

    assert page2["meta"]["total"] == 7 and page2["meta"]["next_page_link"] is None
    assert past.status_code == 400 and "limited to 4 items" in past.json()["troubleshoot"]
    assert requests.post(f"{server}/_sandbox/paging", json={"ceiling": 0}, timeout=5).status_code == 400
    requests.post(f"{server}/_sandbox/paging", json={"ceiling": None}, timeout=5).raise_for_status()
    assert requests.get(f"{server}/_sandbox/paging", timeout=5).json() == {"ceiling": 10_000}


def test_insight_card_accepted_validated_recorded(
    server: str, http: requests.Session, company: dict[str, Any]
) -> None:
    register_call(server, company, 6_000_000_001)
    card = {
        "contents": [
            {"type": "title", "text": "Jane Smith", "link": "https://secure.getjobber.com/clients/1"},
            {"type": "shortText", "label": "Email", "text": "jane@example.com"},
            {"type": "user", "label": "Owner", "user_id": 456},
        ]
    }
    assert http.post(f"{server}/v1/calls/6000000001/insight_cards", json=card).status_code == 201
    for bad in (
        {},
        {"contents": []},
        {"contents": [{"type": "bogus", "text": "x"}]},
        {"contents": [{"type": "shortText", "text": "no label"}]},
        {"contents": [{"type": "title", "text": "x", "link": "javascript:1"}]},
    ):
        r = http.post(f"{server}/v1/calls/6000000001/insight_cards", json=bad)
        assert r.status_code == 400, bad
        assert "troubleshoot" in r.json()
    assert http.post(f"{server}/v1/calls/1/insight_cards", json=card).status_code == 404
    state = requests.get(f"{server}/_sandbox/state", timeout=5).json()
    mine = next(c for c in state["companies"] if c["id"] == company["id"])
    assert mine["insight_cards"]["6000000001"][0]["contents"] == card["contents"]
    # Ended call: refused (UNCONFIRMED behaviour, default 400).
    assert requests.post(f"{server}/_sandbox/calls/6000000001/end", json={}, timeout=5).status_code == 200
    assert http.post(f"{server}/v1/calls/6000000001/insight_cards", json=card).status_code == 400
    assert (
        "Insight cards" in requests.get(server, timeout=5).text or "Jane Smith" in requests.get(server).text
    )


def test_insight_card_on_ended_call_configurable() -> None:
    thread = ServerThread(create_app(ended_call_card_status=None)).start()
    try:
        c = requests.post(f"{thread.url}/_sandbox/companies", json={}, timeout=5).json()
        register_call(thread.url, c, 7, status="done", ended_at=1_700_000_100)
        r = requests.post(
            f"{thread.url}/v1/calls/7/insight_cards",
            auth=(c["api_id"], c["api_token"]),
            json={"contents": [{"type": "title", "text": "late"}]},
        )
        assert r.status_code == 201
    finally:
        thread.stop()


def test_ci_endpoints_404_then_200(server: str, http: requests.Session, company: dict[str, Any]) -> None:
    user = company["users"][0]
    register_call(
        server,
        company,
        6_000_000_002,
        status="done",
        answered_at=1_700_000_010,
        ended_at=1_700_000_200,
        user=user,
    )
    kinds = ("transcription", "summary", "topics", "sentiments", "action_items")
    for kind in kinds:
        assert http.get(f"{server}/v1/calls/6000000002/{kind}").status_code == 404
    gen = requests.post(
        f"{server}/_sandbox/calls/6000000002/ai",
        json={"kinds": ["summary"], "content": {"summary": "Wants a quote"}},
        timeout=5,
    )
    assert gen.status_code == 200
    summary = http.get(f"{server}/v1/calls/6000000002/summary").json()["summary"]
    assert summary["content"] == "Wants a quote" and summary["call_id"] == 6_000_000_002
    assert http.get(f"{server}/v1/calls/6000000002/topics").status_code == 404
    requests.post(f"{server}/_sandbox/calls/6000000002/ai", json={}, timeout=5)
    t = http.get(f"{server}/v1/calls/6000000002/transcription").json()["transcription"]
    assert t["type"] == "call" and t["content"]["utterances"][0]["participant_type"] in (
        "internal",
        "external",
    )
    s = http.get(f"{server}/v1/calls/6000000002/sentiments").json()["sentiment"]
    assert s["id"] == s["call_id"] and s["participants"][0]["value"] in ("POSITIVE", "NEUTRAL", "NEGATIVE")
    assert isinstance(http.get(f"{server}/v1/calls/6000000002/topics").json()["topic"]["content"], list)
    items = http.get(f"{server}/v1/calls/6000000002/action_items").json()
    assert items["call_id"] == 6_000_000_002 and items["action_items"][0]["ai_generated"] is True


def test_call_comment(server: str, http: requests.Session, company: dict[str, Any]) -> None:
    register_call(server, company, 6_000_000_003)
    r = http.post(f"{server}/v1/calls/6000000003/comments", json={"content": "Logged to Jobber"})
    assert r.status_code == 201 and r.json()["comment"]["posted_by"] is None
    assert (
        http.get(f"{server}/v1/calls/6000000003").json()["call"]["comments"][0]["content"]
        == "Logged to Jobber"
    )


# --- contacts -------------------------------------------------------------------------------------------


def test_contacts_crud(server: str, http: requests.Session) -> None:
    body = {
        "first_name": "Jane",
        "last_name": "Smith",
        "company_name": "Smith Landscaping",
        "phone_numbers": [{"label": "Work", "value": "+1 415-555-0177"}],
        "emails": [{"label": "Office", "value": "jane@example.com"}],
    }
    r = http.post(f"{server}/v1/contacts", json=body)
    assert r.status_code == 201
    c = r.json()["contact"]
    assert (
        isinstance(c["id"], int)
        and c["is_shared"] is True
        and c["phone_numbers"][0]["value"] == "+14155550177"
    )
    cid, pid = c["id"], c["phone_numbers"][0]["id"]
    # Update through POST: names change, phones/emails are NOT touched.
    upd = http.post(
        f"{server}/v1/contacts/{cid}", json={"first_name": "Janet", "phone_numbers": [], "emails": []}
    )
    assert upd.status_code == 200
    got = http.get(f"{server}/v1/contacts/{cid}").json()["contact"]
    assert got["first_name"] == "Janet" and len(got["phone_numbers"]) == 1 and len(got["emails"]) == 1
    # phone_details
    added = http.post(
        f"{server}/v1/contacts/{cid}/phone_details", json={"label": "Mobile", "value": "+14155550178"}
    )
    assert added.status_code == 201 and len(added.json()["contact"]["phone_numbers"]) == 2
    put = http.put(f"{server}/v1/contacts/{cid}/phone_details/{pid}", json={"value": "+14155550179"})
    assert put.status_code == 200
    assert put.json()["contact"]["phone_numbers"][0] == {"id": pid, "label": "Work", "value": "+14155550179"}
    assert (
        http.put(f"{server}/v1/contacts/{cid}/phone_details/{pid}", json={"value": "12"}).status_code == 400
    )
    assert http.delete(f"{server}/v1/contacts/{cid}/phone_details/{pid}").status_code == 204
    assert http.delete(f"{server}/v1/contacts/{cid}/phone_details/{pid}").status_code == 404
    # email_details
    em = http.post(f"{server}/v1/contacts/{cid}/email_details", json={"label": "Home", "value": "j@home.com"})
    assert em.status_code == 201
    eid = em.json()["contact"]["emails"][-1]["id"]
    assert (
        http.put(f"{server}/v1/contacts/{cid}/email_details/{eid}", json={"value": "bad"}).status_code == 400
    )
    assert http.delete(f"{server}/v1/contacts/{cid}/email_details/{eid}").status_code == 204
    # search
    found = http.get(f"{server}/v1/contacts/search", params={"phone_number": "+14155550178"}).json()
    assert [x["id"] for x in found["contacts"]] == [cid] and found["meta"]["total"] == 1
    assert http.get(f"{server}/v1/contacts/search", params={"email": "JANE@example.com"}).json()["contacts"]
    assert not http.get(f"{server}/v1/contacts/search", params={"phone_number": "+19999999999"}).json()[
        "contacts"
    ]
    # delete
    assert http.delete(f"{server}/v1/contacts/{cid}").status_code == 204
    assert http.get(f"{server}/v1/contacts/{cid}").status_code == 404


def test_contacts_validation_and_listing(server: str, http: requests.Session) -> None:
    assert http.post(f"{server}/v1/contacts", json={"first_name": "No phone"}).status_code == 400
    assert (
        http.post(f"{server}/v1/contacts", json={"phone_numbers": [{"value": "555-0100"}]}).status_code == 400
    )
    many = [{"label": "x", "value": f"+1415555{i:04d}"} for i in range(21)]
    assert http.post(f"{server}/v1/contacts", json={"phone_numbers": many}).status_code == 400
    ids = [
        http.post(f"{server}/v1/contacts", json={"last_name": f"L{i}", "phone_numbers": [many[i]]}).json()[
            "contact"
        ]["id"]
        for i in range(3)
    ]
    page = http.get(
        f"{server}/v1/contacts", params={"per_page": 2, "order": "desc", "order_by": "created_at"}
    ).json()
    assert page["meta"]["per_page"] == 2 and page["contacts"][0]["id"] == ids[-1]
    assert http.get(f"{server}/v1/contacts", params={"order_by": "name"}).status_code == 400
    for cid in ids:
        http.delete(f"{server}/v1/contacts/{cid}")


# --- rate limit -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fixed", "sliding"])
def test_rate_limit_per_company_429_and_reset(mode: str) -> None:
    thread = ServerThread(create_app(rate_limit_per_min=3, rate_window_s=1.0, rate_mode=mode)).start()
    try:
        c = requests.post(f"{thread.url}/_sandbox/companies", json={"oauth_token": True}, timeout=5).json()
        basic, bearer = (c["api_id"], c["api_token"]), {"Authorization": f"Bearer {c['oauth_token']}"}
        s = requests.Session()
        # Basic and Bearer of the same company share one budget.
        codes = [s.get(f"{thread.url}/v1/ping", auth=basic).status_code for _ in range(2)]
        codes.append(s.get(f"{thread.url}/v1/ping", headers=bearer).status_code)
        limited = s.get(f"{thread.url}/v1/ping", auth=basic)
        assert codes == [200, 200, 200] and limited.status_code == 429
        assert (
            limited.headers["X-AircallApi-Limit"] == "3" and limited.headers["X-AircallApi-Remaining"] == "0"
        )
        reset = int(limited.headers["X-AircallApi-Reset"])
        assert time.time() - 1 <= reset <= time.time() + 2
        assert "X-AircallApi-Limit" not in s.get(f"{thread.url}/_sandbox/state").headers
        other = requests.post(f"{thread.url}/_sandbox/companies", json={}, timeout=5).json()
        assert s.get(f"{thread.url}/v1/ping", auth=(other["api_id"], other["api_token"])).status_code == 200
        time.sleep(max(0.0, reset - time.time()) + 0.05)
        assert s.get(f"{thread.url}/v1/ping", auth=basic).status_code == 200
    finally:
        thread.stop()


def test_rate_headers_always_option() -> None:
    thread = ServerThread(create_app(rate_headers="always", rate_limit_per_min=5)).start()
    try:
        c = requests.post(f"{thread.url}/_sandbox/companies", json={}, timeout=5).json()
        r = requests.get(f"{thread.url}/v1/ping", auth=(c["api_id"], c["api_token"]), timeout=5)
        assert r.status_code == 200 and r.headers["X-AircallApi-Remaining"] == "4"
    finally:
        thread.stop()


# --- faults ---------------------------------------------------------------------------------------------


def test_fault_knobs(server: str, http: requests.Session) -> None:
    post = lambda body: requests.post(f"{server}/_sandbox/faults", json=body, timeout=5)  # noqa: E731
    assert post({"fail_next": 2, "error_status": 502}).json()["fail_next"] == 2
    assert [http.get(f"{server}/v1/ping").status_code for _ in range(3)] == [502, 502, 200]
    post({"error_rate": 1.0, "error_status": 500})
    assert http.get(f"{server}/v1/ping").status_code == 500
    assert requests.get(f"{server}/_sandbox/state", timeout=5).status_code == 200  # admin is exempt
    post({"reset": True, "latency_s": 0.3})
    t0 = time.monotonic()
    assert http.get(f"{server}/v1/ping").status_code == 200
    assert time.monotonic() - t0 >= 0.3
    post({"reset": True, "throttle": True})
    r = http.get(f"{server}/v1/ping")
    assert r.status_code == 429 and "X-AircallApi-Reset" in r.headers
    post({"reset": True})
    assert http.get(f"{server}/v1/ping").status_code == 200
    assert post({"nope": 1}).status_code == 400


# --- OAuth ----------------------------------------------------------------------------------------------


def test_oauth_authorize_and_token_exchange(server: str, company: dict[str, Any]) -> None:
    requests.post(
        f"{server}/_sandbox/oauth_clients", json={"client_id": "cid", "client_secret": "sec"}, timeout=5
    )
    redirect = "https://svc.example.com/oauth/aircall/callback"
    consent = {
        "client_id": "cid",
        "redirect_uri": redirect,
        "response_type": "code",
        "scope": "public_api",
        "state": "xyz",
        "company_id": company["id"],
    }
    page = requests.get(f"{server}/oauth/authorize", params=consent, timeout=5)
    assert page.status_code == 200 and 'name="number_ids"' in page.text  # the admin picks the numbers
    chosen = sorted(company["numbers"], key=lambda n: n["id"])[:1]
    denied = requests.post(
        f"{server}/oauth/authorize", data={**consent, "decision": "deny"}, allow_redirects=False, timeout=5
    )
    assert parse_qs(urlparse(denied.headers["location"]).query) == {
        "error": ["access_denied"],
        "state": ["xyz"],
    }
    r = requests.post(
        f"{server}/oauth/authorize",
        data={**consent, "decision": "allow", "number_ids": [n["id"] for n in chosen]},
        allow_redirects=False,
        timeout=5,
    )
    assert r.status_code == 302
    loc = urlparse(r.headers["location"])
    q = parse_qs(loc.query)
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == redirect and q["state"] == ["xyz"]
    body = {
        "grant_type": "authorization_code",
        "code": q["code"][0],
        "redirect_uri": redirect,
        "client_id": "cid",
        "client_secret": "wrong",
    }
    assert requests.post(f"{server}/v1/oauth/token", json=body, timeout=5).status_code == 401
    tok = requests.post(f"{server}/v1/oauth/token", json={**body, "client_secret": "sec"}, timeout=5)
    assert tok.status_code == 200
    data = tok.json()
    assert data["access_token"] and "refresh_token" not in data and "expires_in" not in data
    me = requests.get(
        f"{server}/v1/integrations/me", headers={"Authorization": f"Bearer {data['access_token']}"}
    )
    assert me.json()["integration"]["company_id"] == company["id"]
    assert me.json()["integration"]["number_ids"] == [n["id"] for n in chosen]  # what the admin picked
    # Codes are single use.
    assert (
        requests.post(
            f"{server}/v1/oauth/token", json={**body, "client_secret": "sec"}, timeout=5
        ).status_code
        == 400
    )
    assert (
        requests.get(f"{server}/oauth/authorize", params={"client_id": "zzz"}, timeout=5).status_code == 400
    )


def test_state_dump_and_page(server: str, company: dict[str, Any], http: requests.Session) -> None:
    http.get(f"{server}/v1/ping")
    state = requests.get(f"{server}/_sandbox/state", timeout=5).json()
    mine = next(c for c in state["companies"] if c["id"] == company["id"])
    assert mine["requests"]["total"] >= 1 and mine["requests"]["by_route"]["GET /v1/ping"] >= 1
    assert {"webhooks", "contacts", "insight_cards", "calls", "api_token", "numbers", "users"} <= set(mine)
    page = requests.get(server, timeout=5)
    assert (
        page.status_code == 200
        and 'http-equiv="refresh"' in page.text.replace("'", '"')
        and "Acme" in page.text
    )
