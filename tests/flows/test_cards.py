"""Insight cards end to end: ingest → the cards queue → a real worker → sandbox Jobber and Aircall
(SPEC F1)."""

from __future__ import annotations

import itertools
import time

import pytest
import requests

from domain.cards import TIMES
from sandbox.fleet import post_all
from sandbox.scenarios import payloads as p
from store.ledger import Ledger
from tests.support.poll import until
from tests.support.search_readings import SEARCH_READING_IDS, SEARCH_READINGS, use_reading
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"
_ids = itertools.count(6_000_000_001)


@pytest.fixture
def world(vendors):
    """A Jobber account and an Aircall company, both fresh."""
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    company = requests.post(
        f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme", "rate_limit_per_min": 600}, timeout=5
    ).json()
    return type(
        "World",
        (),
        {"jobber": vendors.jobber, "aircall": vendors.aircall, "account": account, "company": company},
    )


def add_client(world, **body) -> dict:
    url = f"{world.jobber}/_sandbox/accounts/{world.account['account']['id']}/clients"
    response = requests.post(url, json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def gql(world, query: str, variables: dict) -> dict:
    headers = {
        "Authorization": f"Bearer {world.account['access_token']}",
        "X-JOBBER-GRAPHQL-VERSION": "2025-04-16",
    }
    body = requests.post(
        f"{world.jobber}/api/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=5,
    ).json()
    assert not body.get("errors"), body
    return body["data"]


def ringing(world, token: str, external: str = CALLER) -> list[dict]:
    """call.created then call.ringing_on_agent for a new inbound call, registered in the Aircall sandbox."""
    call_id = next(_ids)
    events = p.inbound_answered_call(
        call_id, token=token, number=LINE, external=external, agent=AGENT, started_at=int(time.time())
    )
    early = [e for e in events if e["event"] in ("call.created", "call.ringing_on_agent")]
    requests.post(
        f"{world.aircall}/_sandbox/calls",
        json={"call": early[0]["data"], "company_id": world.company["id"]},
        timeout=5,
    )
    return early


def send(ingest_url, events) -> list[str]:
    ids = []
    for event in events:
        response = requests.post(f"{ingest_url}/webhooks/aircall", json=event, timeout=5)
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
    return ids


def settle(r, ids):
    ledger = Ledger(r)
    until(
        lambda: all((ledger.get(i) or {}).get("outcome") not in (None, "pending") for i in ids),
        timeout=30,
        what="cards",
    )


def pending(r, ids) -> int:
    return sum(1 for i in ids if (Ledger(r).get(i) or {}).get("outcome") in (None, "pending"))


def cards(world, call_id: int) -> list[list[dict]]:
    state = requests.get(f"{world.aircall}/_sandbox/state", timeout=5).json()
    company = next(c for c in state["companies"] if c["id"] == world.company["id"])
    return [c["contents"] for c in company["insight_cards"].get(str(call_id), [])]


def tenant(world, **settings):
    return make_tenant(jobber=world.account, aircall=world.company, numbers=[LINE["id"]], **settings)


@pytest.mark.parametrize("search_reading", SEARCH_READINGS, ids=SEARCH_READING_IDS)
def test_default_card_shows_name_email_and_company(r, ingest_url, worker, world, search_reading):
    # Under every reading of Jobber's phone search (jobber-api.md §5.3), the ringing caller is found.
    use_reading(world.jobber, search_reading)
    dana = add_client(
        world,
        firstName="Dana",
        lastName="Lopez",
        companyName="Lopez Landscaping",
        phones=[{"number": "(415) 555-0100"}],
        emails=[{"address": "dana@lopez.test", "primary": True}],
    )
    t = tenant(world)
    events = ringing(world, t.webhook_token)

    settle(r, send(ingest_url, events))

    assert cards(world, events[0]["data"]["id"]) == [
        [
            {"type": "title", "text": "Dana Lopez", "link": dana_uri(world, dana["id"])},
            {"type": "shortText", "label": "Email", "text": "dana@lopez.test"},
            {"type": "shortText", "label": "Company", "text": "Lopez Landscaping"},
        ]
    ]


def dana_uri(world, client_id: str) -> str:
    return gql(world, "query($id: EncodedId!) { client(id: $id) { jobberWebUri } }", {"id": client_id})[
        "client"
    ]["jobberWebUri"]


def test_custom_card_with_five_fields_including_a_custom_field_and_open_requests(
    r, ingest_url, worker, world
):
    dana = add_client(
        world,
        firstName="Dana",
        lastName="Lopez",
        phones=[{"number": CALLER}],
        emails=[{"address": "dana@lopez.test"}],
        billingAddress={"street1": "1 Main St", "city": "Springfield"},
    )
    config = gql(
        world,
        """mutation($input: CustomFieldConfigurationCreateTextInput!) {
        customFieldConfigurationCreateText(input: $input) { customFieldConfiguration { id }
        userErrors { message } } }""",
        {
            "input": {
                "appliesTo": "ALL_CLIENTS",
                "name": "Gate code",
                "readOnly": False,
                "transferable": False,
            }
        },
    )["customFieldConfigurationCreateText"]["customFieldConfiguration"]["id"]
    gql(
        world,
        """mutation($id: EncodedId!, $input: ClientEditInput!) { clientEdit(clientId: $id, input: $input) {
        client { id } userErrors { message } } }""",
        {
            "id": dana["id"],
            "input": {
                "customFields": [{"customFieldConfigurationId": config, "valueText": "4321#"}],
                "tagsToAdd": ["VIP"],
            },
        },
    )
    request_create = (
        "mutation($c: EncodedId!, $t: String!) { requestCreate(input: {clientId: $c, title: $t}) "
        "{ request { id } userErrors { message } } }"
    )
    for title in ("Spring cleanup", "Gutter repair"):
        gql(world, request_create, {"c": dana["id"], "t": title})
    fields = ["email", "custom:Gate code", "open_requests", "billing_address", "lead_status"]
    t = tenant(world, insight_card={"custom": True, "fields": fields})
    events = ringing(world, t.webhook_token)

    settle(r, send(ingest_url, events))

    [card] = cards(world, events[0]["data"]["id"])
    assert card[0]["type"] == "title" and card[0]["text"] == "Dana Lopez"
    assert [(i["label"], i["text"]) for i in card[1:]] == [
        ("Email", "dana@lopez.test"),
        ("Gate code", "4321#"),
        ("Open requests", "2"),
        ("Address", "1 Main St, Springfield"),
        ("Status", "Lead"),  # no job yet: still a lead
    ]


AREA_CONFIG = """mutation($input: CustomFieldConfigurationCreateAreaInput!) {
  customFieldConfigurationCreateArea(input: $input) { customFieldConfiguration { id } userErrors { message } }
}"""
EDIT_CUSTOM_FIELDS = """mutation($id: EncodedId!, $input: ClientEditInput!) {
  clientEdit(clientId: $id, input: $input) { client { id } userErrors { message } }
}"""


def test_an_area_custom_field_shows_on_the_card_as_length_by_width(r, ingest_url, worker, world):
    """`CustomFieldArea` (jobber-schema-2025-04-16.graphql: valueArea {length width}, unit)
    on a custom card."""
    dana = add_client(world, firstName="Dana", lastName="Lopez", phones=[{"number": CALLER}])
    config_input = {
        "appliesTo": "ALL_CLIENTS",
        "name": "Lawn area",
        "unit": "ft",
        "readOnly": False,
        "transferable": False,
    }
    created = gql(world, AREA_CONFIG, {"input": config_input})["customFieldConfigurationCreateArea"]
    value = {
        "customFieldConfigurationId": created["customFieldConfiguration"]["id"],
        "valueArea": {"length": 40, "width": 25.5},
    }
    edited = gql(world, EDIT_CUSTOM_FIELDS, {"id": dana["id"], "input": {"customFields": [value]}})
    assert edited["clientEdit"]["userErrors"] == []
    t = tenant(world, insight_card={"custom": True, "fields": ["custom:Lawn area"]})
    events = ringing(world, t.webhook_token)

    settle(r, send(ingest_url, events))

    [card] = cards(world, events[0]["data"]["id"])
    assert [(i["label"], i["text"]) for i in card[1:]] == [("Lawn area", f"40 {TIMES} 25.5 ft")]


def test_unknown_caller_gets_no_card(r, ingest_url, worker, world):
    t = tenant(world)
    events = ringing(world, t.webhook_token, external="+14155550155")
    ids = send(ingest_url, events)
    settle(r, ids)
    assert cards(world, events[0]["data"]["id"]) == []
    # Whichever of the two ringing events claimed the call looked the caller up (the other one was second).
    reasons = {s["reason"] for i in ids for s in Ledger(r).show(i)["skips"]}
    assert "no Jobber client has +14155550155: no card" in reasons


def test_duplicate_and_out_of_order_ringing_events_post_one_card(r, ingest_url, worker, world):
    add_client(world, firstName="Dana", lastName="Lopez", phones=[{"number": CALLER}])
    t = tenant(world)
    created, ringing_on_agent = ringing(world, t.webhook_token)

    ids = send(ingest_url, [ringing_on_agent, created, ringing_on_agent, created])
    settle(r, ids)

    assert len(cards(world, created["data"]["id"])) == 1
    reasons = [s["reason"] for i in set(ids) for s in Ledger(r).show(i)["skips"]]
    assert len(reasons) == 1 and reasons[0].startswith("one card per call: already handled by ev_")


@pytest.mark.slow
def test_budget_wait_inside_the_ringing_window_is_retried_then_posted(r, ingest_url, worker, world):
    from store.budgets import AircallBudget

    add_client(world, firstName="Dana", lastName="Lopez", phones=[{"number": CALLER}])
    t = tenant(world)
    AircallBudget(r, str(world.company["id"]), 60, high_priority=True).exhausted_until(time.time() + 2)
    events = ringing(world, t.webhook_token)[:1]

    ids = send(ingest_url, events)
    settle(r, ids)

    assert len(cards(world, events[0]["data"]["id"])) == 1
    assert [a["kind"] for a in Ledger(r).show(ids[0])["attempts"]] == ["rate_limited"]


def test_aircall_429_past_the_ringing_window_drops_the_card(r, ingest_url, worker, world):
    add_client(world, firstName="Dana", lastName="Lopez", phones=[{"number": CALLER}])
    t = tenant(world)
    requests.post(f"{world.aircall}/_sandbox/faults", json={"reset": True, "throttle": True}, timeout=5)
    try:
        events = ringing(world, t.webhook_token)[:1]
        ids = send(ingest_url, events)
        settle(r, ids)
    finally:
        requests.post(f"{world.aircall}/_sandbox/faults", json={"reset": True}, timeout=5)
    assert cards(world, events[0]["data"]["id"]) == []
    assert (
        Ledger(r).show(ids[0])["skips"][-1]["reason"]
        == "card dropped: Aircall's rate limit outlasts the ringing window"
    )


@pytest.mark.slow
def test_aircall_5xx_is_retried_and_the_card_still_arrives_once(r, ingest_url, worker, world):
    add_client(world, firstName="Dana", lastName="Lopez", phones=[{"number": CALLER}])
    t = tenant(world)
    requests.post(
        f"{world.aircall}/_sandbox/faults",
        json={"reset": True, "fail_next": 2, "error_status": 502},
        timeout=5,
    )
    events = ringing(world, t.webhook_token)
    ids = send(ingest_url, events)
    settle(r, ids)
    assert len(cards(world, events[0]["data"]["id"])) == 1


def test_a_call_that_already_ended_gets_no_card(r, ingest_url, worker, world):
    add_client(world, firstName="Dana", lastName="Lopez", phones=[{"number": CALLER}])
    t = tenant(world)
    created = ringing(world, t.webhook_token)[0]
    requests.post(f"{world.aircall}/_sandbox/calls/{created['data']['id']}/end", json={}, timeout=5)
    ids = send(ingest_url, [created])
    settle(r, ids)
    assert cards(world, created["data"]["id"]) == []
    assert "card refused by Aircall" in Ledger(r).show(ids[0])["skips"][-1]["reason"]


def test_outbound_and_unconnected_calls_get_no_card(r, ingest_url, worker, world):
    add_client(world, firstName="Dana", lastName="Lopez", phones=[{"number": CALLER}])
    t = tenant(world)
    outbound = p.outbound_call(
        next(_ids),
        token=t.webhook_token,
        number=LINE,
        external=CALLER,
        agent=AGENT,
        started_at=int(time.time()),
    )
    other_line = p.number_object(999, e164="+14155550197")
    unconnected = p.inbound_answered_call(
        next(_ids),
        token=t.webhook_token,
        number=other_line,
        external=CALLER,
        agent=AGENT,
        started_at=int(time.time()),
    )
    ids = send(ingest_url, [outbound[0], unconnected[0]])
    settle(r, ids)
    reasons = [Ledger(r).show(i)["skips"][-1]["reason"] for i in ids]
    assert reasons == [
        "outbound call: no insight card",
        "Aircall number 999 is not connected (settings.numbers)",
    ]


def test_a_burst_of_one_tenants_ringing_calls_does_not_hold_another_tenants_card(
    r, ingest_url, worker, world
):
    """Cards wait in tenant lanes too (config/queues.py FAIR_QUEUES, CARDS_QUEUE_DEPTH): B's ringing call is
    one round of the lanes away from a worker, not behind A's whole burst. Shown relative to A's backlog, not
    by a clock: B's card is posted while most of A's burst still waits."""
    # Given tenant A, on its own Jobber account, with a burst of ringing calls from callers Jobber must search
    # for (each takes a while: every Jobber request is slow), and tenant B with a known caller.
    other = requests.post(f"{world.jobber}/_sandbox/accounts", json={"name": "Alpha"}, timeout=5).json()
    a = make_tenant(jobber=other, numbers=[LINE["id"]])
    add_client(world, firstName="Dana", lastName="Lopez", phones=[{"number": CALLER}])
    b = tenant(world)
    burst = 100
    a_calls = [
        p.inbound_answered_call(
            next(_ids),
            token=a.webhook_token,
            number=LINE,
            external=f"+1415555{7000 + i}",
            agent=AGENT,
            started_at=int(time.time()),
        )[0]
        for i in range(burst)
    ]
    requests.post(f"{world.jobber}/_sandbox/faults", json={"reset": True, "latency_s": 0.5}, timeout=5)
    try:
        # When A's burst arrives, then B's call rings
        a_ids = post_all(ingest_url, a_calls, 16)
        b_call = ringing(world, b.webhook_token)[0]
        b_ids = send(ingest_url, [b_call])
        settle(r, b_ids)
        a_waiting = pending(r, a_ids)
        until(lambda: pending(r, a_ids) == 0, timeout=120, what="A's burst settled")
    finally:
        requests.post(f"{world.jobber}/_sandbox/faults", json={"reset": True}, timeout=5)

    # Then B's card was posted while most of A's burst still waited its turn
    assert Ledger(r).get(b_ids[0])["outcome"] == "done"
    assert len(cards(world, b_call["data"]["id"])) == 1
    assert a_waiting > burst // 2, (a_waiting, burst)
