"""Contract tests for the emulated Jobber GraphQL API (sandbox/jobber), over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import requests
from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

from sandbox.common import ServerThread
from sandbox.jobber import create_app, send_webhook
from tests.support.poll import until

VERSION = "2025-04-16"
SECRET = "test-client-secret"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    app = create_app(client_id="test-client", client_secret=SECRET)
    srv = ServerThread(app).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def base(server: ServerThread) -> str:
    return server.url


def new_account(base: str, **body: Any) -> dict[str, Any]:
    r = requests.post(f"{base}/_sandbox/accounts", json=body, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def account(base: str) -> dict[str, Any]:
    return new_account(base, name="Acme Plumbing", seed_clients=60, seed=7)


def gql_post(
    base: str,
    token: str | None,
    query: str,
    variables: dict[str, Any] | None = None,
    version: str | None = VERSION,
) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if version is not None:
        headers["X-JOBBER-GRAPHQL-VERSION"] = version
    return requests.post(
        f"{base}/api/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=10,
    )


def q(base: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    r = gql_post(base, token, query, variables)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


def gql_client(base: str, token: str) -> Client:
    transport = RequestsHTTPTransport(
        url=f"{base}/api/graphql",
        headers={"Authorization": f"Bearer {token}", "X-JOBBER-GRAPHQL-VERSION": VERSION},
        timeout=10,
    )
    return Client(transport=transport, fetch_schema_from_transport=False)


CREATE = """mutation Create($input: ClientCreateInput!) {
  clientCreate(input: $input) {
    client { id name firstName lastName isCompany jobberWebUri
             phones { id number normalizedPhoneNumber description primary smsAllowed } }
    userErrors { message path }
  }
}"""


def create_client(base: str, token: str, **input: Any) -> dict[str, Any]:
    data = q(base, token, CREATE, {"input": input})["clientCreate"]
    assert data["userErrors"] == []
    return data["client"]


# ----- shapes ---------------------------------------------------------------------------------------------


def test_account_and_user_shapes_via_gql(base: str, account: dict[str, Any]) -> None:
    with gql_client(base, account["access_token"]) as session:
        data = session.execute(gql("query { account { id name } user { id name { full } email { raw } } }"))
    assert data["account"] == {"id": account["account"]["id"], "name": "Acme Plumbing"}
    assert data["user"]["id"] == account["user"]["id"]
    assert data["user"]["name"]["full"] and "@" in data["user"]["email"]["raw"]
    decoded = base64.b64decode(data["account"]["id"]).decode()
    assert decoded.startswith("gid://Jobber/Account/")


def test_current_user(base: str, account: dict[str, Any]) -> None:
    data = q(
        base, account["access_token"], "{ user { id isCurrentUser isAccountOwner email { raw isValid } } }"
    )
    assert data["user"]["id"] == account["user"]["id"] and data["user"]["isCurrentUser"] is True
    assert data["user"]["email"]["isValid"] is True


def test_client_create_and_fetch_full_shape(base: str, account: dict[str, Any]) -> None:
    token = account["access_token"]
    client = create_client(
        base,
        token,
        firstName="Dana",
        lastName="Lopez",
        phones=[{"number": "(415) 555-0177", "description": "MOBILE", "primary": True, "smsAllowed": True}],
        emails=[{"address": "dana@example.com", "description": "MAIN", "primary": True}],
        billingAddress={
            "street1": "1 Market St",
            "city": "San Francisco",
            "province": "CA",
            "postalCode": "94105",
            "country": "US",
        },
    )
    assert client["name"] == "Dana Lopez" and client["isCompany"] is False
    assert client["phones"][0]["normalizedPhoneNumber"] == "+14155550177"
    assert client["phones"][0]["description"] == "Mobile"
    assert client["jobberWebUri"].startswith("https://")
    data = q(
        base,
        token,
        """query Get($id: EncodedId!) { client(id: $id) {
        id name isLead isArchived balance createdAt updatedAt email leadSource emails { address primary }
        billingAddress { street street1 street2 city province postalCode country latitude }
        tags(first: 5) { nodes { id label } totalCount }
        customFields { __typename }
        notes(first: 5) { nodes { id message } }
        requests(first: 5) { nodes { id } }
      } }""",
        {"id": client["id"]},
    )
    got = data["client"]
    assert got["emails"] == [{"address": "dana@example.com", "primary": True}]
    assert got["email"] == "dana@example.com" and got["leadSource"] == "Aircall"
    assert got["billingAddress"]["city"] == "San Francisco"
    # Every ClientAddress field but `name` is a non-null String in the real schema.
    assert got["billingAddress"]["street2"] == "" and got["billingAddress"]["latitude"] == ""
    assert got["tags"] == {"nodes": [], "totalCount": 0}
    assert got["createdAt"].endswith("Z")


def test_client_create_without_name_gives_user_errors(base: str, account: dict[str, Any]) -> None:
    r = gql_post(base, account["access_token"], CREATE, {"input": {"phones": [{"number": "4155550100"}]}})
    assert r.status_code == 200
    body = r.json()["data"]["clientCreate"]
    assert body["client"] is None and body["userErrors"][0]["message"]
    assert isinstance(body["userErrors"][0]["path"], list)


def test_client_not_found_and_other_account_is_null(base: str, account: dict[str, Any]) -> None:
    other = new_account(base, name="Other Co")
    foreign = create_client(base, other["access_token"], firstName="Not", lastName="Yours")
    missing = base64.b64encode(b"gid://Jobber/Client/999999").decode()
    for cid in (foreign["id"], missing):
        assert q(
            base, account["access_token"], "query($id: EncodedId!) { client(id: $id) { id } }", {"id": cid}
        ) == {"client": None}


def test_invalid_encoded_id_problems_shape(base: str, account: dict[str, Any]) -> None:
    r = gql_post(
        base, account["access_token"], "query($id: EncodedId!) { client(id: $id) { id } }", {"id": "1"}
    )
    assert r.status_code == 200
    err = r.json()["errors"][0]
    assert err["message"] == "Variable $id of type EncodedId! was provided invalid value"
    assert err["extensions"]["problems"][0]["explanation"] == "'1' is not a valid EncodedId"


def test_client_edit_tags_phones_custom_fields(base: str, account: dict[str, Any]) -> None:
    token = account["access_token"]
    client = create_client(
        base, token, firstName="Ed", lastName="Edit", phones=[{"number": "212-555-0150", "primary": True}]
    )
    cf = q(
        base,
        token,
        """mutation { customFieldConfigurationCreateLink(input: {appliesTo: ALL_CLIENTS,
             name: "Aircall contact", readOnly: true, transferable: false}) {
             customFieldConfiguration { id name } userErrors { message path } } }""",
    )
    cf_id = cf["customFieldConfigurationCreateLink"]["customFieldConfiguration"]["id"]
    edit = """mutation Edit($id: EncodedId!, $input: ClientEditInput!) {
      clientEdit(clientId: $id, input: $input) {
        client { id firstName updatedAt tags(first: 10) { nodes { label } } phones { id number }
          customFields { ... on CustomFieldLink {
            label valueLink { text url } customFieldConfiguration { id } } } }
        userErrors { message path } } }"""
    data = q(
        base,
        token,
        edit,
        {
            "id": client["id"],
            "input": {
                "firstName": "Eddie",
                "tagsToAdd": ["Aircall", "VIP"],
                "phonesToAdd": [{"number": "+1 212 555 0151", "description": "WORK"}],
                "phonesToDelete": [client["phones"][0]["id"]],
                "customFields": [
                    {
                        "customFieldConfigurationId": cf_id,
                        "valueLink": {"text": "Open in Aircall", "url": "https://example.com/c/1"},
                    }
                ],
            },
        },
    )
    got = data["clientEdit"]
    assert got["userErrors"] == []
    assert got["client"]["firstName"] == "Eddie"
    assert {t["label"] for t in got["client"]["tags"]["nodes"]} == {"Aircall", "VIP"}
    assert [p["number"] for p in got["client"]["phones"]] == ["+1 212 555 0151"]
    assert got["client"]["customFields"] == [
        {
            "label": "Aircall contact",
            "valueLink": {"text": "Open in Aircall", "url": "https://example.com/c/1"},
            "customFieldConfiguration": {"id": cf_id},
        }
    ]
    data = q(
        base,
        token,
        edit,
        {
            "id": client["id"],
            "input": {
                "tagsToDelete": ["VIP"],
                "customFields": [{"customFieldConfigurationId": cf_id, "valueText": "wrong type"}],
            },
        },
    )
    assert data["clientEdit"]["client"] is None and data["clientEdit"]["userErrors"]
    unknown = base64.b64encode(b"gid://Jobber/Client/424242").decode()
    data = q(base, token, edit, {"id": unknown, "input": {"tagsToAdd": ["x"]}})
    assert data["clientEdit"] == {
        "client": None,
        "userErrors": [{"message": "Client not found", "path": ["clientId"]}],
    }


def test_area_custom_fields_need_length_and_width(base: str, account: dict[str, Any]) -> None:
    """CustomFieldCreateInput: "exactly one of the values (or both valueAreaLength and valueAreaWidth)"; the
    value read back (CustomFieldAreaValue) has both non-null, with the configuration's unit."""
    token = account["access_token"]
    client = create_client(base, token, firstName="Ari", lastName="Area")
    cf = q(
        base,
        token,
        """mutation { customFieldConfigurationCreateArea(input: {appliesTo: ALL_CLIENTS,
             name: "Deck", unit: "m", readOnly: false, transferable: false}) {
             customFieldConfiguration { id name unit valueType } userErrors { message path } } }""",
    )
    config = cf["customFieldConfigurationCreateArea"]["customFieldConfiguration"]
    assert (config["name"], config["unit"], config["valueType"]) == ("Deck", "m", "AREA")
    edit = """mutation Edit($id: EncodedId!, $input: ClientEditInput!) {
      clientEdit(clientId: $id, input: $input) {
        client { customFields { ... on CustomFieldArea { label unit valueArea { length width } } } }
        userErrors { message path } } }"""

    def set_area(value: dict[str, Any]) -> dict[str, Any]:
        field = {"customFieldConfigurationId": config["id"], "valueArea": value}
        return q(base, token, edit, {"id": client["id"], "input": {"customFields": [field]}})["clientEdit"]

    half = set_area({"length": 4})
    assert half["client"] is None and "both length and width" in half["userErrors"][0]["message"]
    whole = set_area({"length": 4, "width": 2.5})
    assert whole["userErrors"] == []
    assert whole["client"]["customFields"] == [
        {"label": "Deck", "unit": "m", "valueArea": {"length": 4.0, "width": 2.5}}
    ]


def test_notes_requests_and_tasks(base: str, account: dict[str, Any]) -> None:
    token = account["access_token"]
    client = create_client(base, token, firstName="Nora", lastName="Notes")
    data = q(
        base,
        token,
        """mutation($id: EncodedId!) { clientCreateNote(clientId: $id, input: {message: "Call 1",
        pinned: false, attachments: [{url: "https://example.com/rec.mp3"}], linkedTo: {requests: true}}) {
        clientNote { id message createdAt createdBy { __typename ... on Application { name } }
                     linkedTo { requests jobs } } userErrors { message path } } }""",
        {"id": client["id"]},
    )
    note = data["clientCreateNote"]["clientNote"]
    assert note["createdBy"] == {"__typename": "Application", "name": "Aircall"}
    assert note["linkedTo"] == {"requests": True, "jobs": False}
    state = requests.get(f"{base}/_sandbox/state", params={"account_id": account["account"]["id"]}, timeout=5)
    stored = next(c for c in state.json()["accounts"][0]["clients"] if c["id"] == client["id"])["notes"][0]
    assert [a["url"] for a in stored["attachments"]] == ["https://example.com/rec.mp3"]
    data = q(
        base,
        token,
        """mutation($n: EncodedId!) { clientEditNote(input: {noteId: $n, message: "Call 1 (edited)"})
        { clientNote { id message lastEditedAt } userErrors { message path } } }""",
        {"n": note["id"]},
    )
    assert data["clientEditNote"]["clientNote"]["message"] == "Call 1 (edited)"
    data = q(
        base,
        token,
        """mutation($id: EncodedId!) { requestCreate(input: {clientId: $id, title: "Inbound call"})
        { request { id title requestStatus jobberWebUri client { id } } userErrors { message path } } }""",
        {"id": client["id"]},
    )
    req = data["requestCreate"]["request"]
    assert req["requestStatus"] == "new" and req["client"]["id"] == client["id"]
    data = q(
        base,
        token,
        """mutation($r: EncodedId!) { requestCreateNote(requestId: $r, input: {message: "details"})
        { requestNote { id message } userErrors { message path } } }""",
        {"r": req["id"]},
    )
    rnote = data["requestCreateNote"]["requestNote"]
    data = q(
        base,
        token,
        """mutation($n: EncodedId!) { requestEditNote(input: {noteId: $n, message: "more"})
        { request { id } requestNote { message } userErrors { message path } } }""",
        {"n": rnote["id"]},
    )
    assert data["requestEditNote"]["requestNote"]["message"] == "more"
    assert data["requestEditNote"]["request"] == {"id": req["id"]}
    data = q(
        base,
        token,
        """mutation($id: EncodedId!, $u: EncodedId!) { taskCreate(clientId: $id, input: {
        title: "Call back", instructions: "Missed call", startAt: "2026-11-24T15:00:00Z", allDay: false,
        assignedTo: [$u]}) { task { id title startAt isComplete client { id }
        assignedUsers { nodes { id } } } userErrors { message path } } }""",
        {"id": client["id"], "u": account["user"]["id"]},
    )
    task = data["taskCreate"]["task"]
    assert task["startAt"] == "2026-11-24T15:00:00Z" and task["client"]["id"] == client["id"]
    assert task["assignedUsers"]["nodes"] == [{"id": account["user"]["id"]}]
    data = q(
        base,
        token,
        """query($id: EncodedId!) { client(id: $id) { notes(first: 5) { nodes { message } }
        requests(first: 5) { nodes { title notes(first: 5) { nodes { __typename
          ... on RequestNote { message } ... on ClientNote { message } } } } } } }""",
        {"id": client["id"]},
    )
    assert data["client"]["notes"]["nodes"] == [{"message": "Call 1 (edited)"}]
    # Request.notes is the RequestNoteUnion: the request's notes and the client notes linked to requests.
    assert sorted(
        (n["__typename"], n["message"]) for n in data["client"]["requests"]["nodes"][0]["notes"]["nodes"]
    ) == [("ClientNote", "Call 1 (edited)"), ("RequestNote", "more")]
    unfragmented = gql_post(
        base,
        token,
        "query($id: EncodedId!) { request(id: $id) { notes(first: 5) { nodes { id message } } } }",
        {"id": req["id"]},
    ).json()
    assert "Cannot query field 'id' on type 'RequestNoteUnion'" in unfragmented["errors"][0]["message"]
    page = requests.get(f"{base}/", timeout=5)
    assert (
        page.status_code == 200
        and "Call 1 (edited)" in page.text
        and 'http-equiv="refresh"' in page.text.replace("'", '"')
    )
    deleted = q(
        base,
        token,
        """mutation($n: EncodedId!) { clientDeleteNote(input: {noteId: $n}) {
        client { id } deletedNote { id message } userErrors { message path } } }""",
        {"n": note["id"]},
    )["clientDeleteNote"]
    assert deleted == {
        "client": {"id": client["id"]},
        "deletedNote": {"id": note["id"], "message": "Call 1 (edited)"},
        "userErrors": [],
    }


# ----- pagination, search ---------------------------------------------------------------------------------


def test_pagination_with_cursors(base: str, account: dict[str, Any]) -> None:
    token = account["access_token"]
    query = """query($after: String) { clients(first: 25, after: $after, sort: {key: UPDATED_AT,
        direction: ASCENDING}) { nodes { id updatedAt } edges { cursor node { id } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }"""
    seen: list[str] = []
    after = None
    while True:
        page = q(base, token, query, {"after": after})["clients"]
        assert [e["node"]["id"] for e in page["edges"]] == [n["id"] for n in page["nodes"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] >= 60
    backwards = q(
        base,
        token,
        """query($b: String) { clients(last: 5, before: $b, sort: {key: UPDATED_AT,
        direction: ASCENDING}) { nodes { id } } }""",
        {"b": page["pageInfo"]["startCursor"]},
    )
    assert [n["id"] for n in backwards["clients"]["nodes"]] == seen[
        -len(page["nodes"]) - 5 : -len(page["nodes"])
    ]


def test_filter_updated_after_and_flags(base: str, account: dict[str, Any]) -> None:
    token = account["access_token"]
    data = q(
        base,
        token,
        """{ archived: clients(first: 100, filter: {isArchived: true}) { nodes { isArchived } }
        since: clients(first: 100, filter: {updatedAt: {after: "2030-01-01T00:00:00Z"}}) { totalCount } }""",
    )
    assert all(n["isArchived"] for n in data["archived"]["nodes"])
    assert data["since"]["totalCount"] == 0


@pytest.mark.parametrize("term", ["(628) 555-0188", "628.555.0188", "+16285550188", "6285550188", "555-0188"])
def test_client_phones_search_formats(base: str, term: str) -> None:
    acct = new_account(base, name=f"Search {term}")
    token = acct["access_token"]
    older = create_client(base, token, firstName="Old", lastName="Owner", phones=[{"number": "628-555-0188"}])
    newer = create_client(
        base, token, firstName="New", lastName="Owner", phones=[{"number": "+1 628 555 0188"}]
    )
    data = q(
        base,
        token,
        """query($t: String!) { clientPhones(searchTerm: $t, first: 10) {
        nodes { number normalizedPhoneNumber client { id name } } } }""",
        {"t": term},
    )
    nodes = data["clientPhones"]["nodes"]
    assert [n["client"]["id"] for n in nodes] == [newer["id"], older["id"]]  # most recently updated first
    assert {n["normalizedPhoneNumber"] for n in nodes} == {"+16285550188"}
    data = q(
        base,
        token,
        """query($t: String!) { clients(searchTerm: $t, searchFields: [PHONES], first: 10) {
        nodes { id } } }""",
        {"t": term},
    )
    assert {n["id"] for n in data["clients"]["nodes"]} == {newer["id"], older["id"]}


def test_secondary_contact_phones(base: str) -> None:
    acct = new_account(base, name="Contacts Co")
    token = acct["access_token"]
    data = q(
        base,
        token,
        CREATE,
        {
            "input": {
                "companyName": "Harbor Realty",
                "phones": [{"number": "617-555-0111", "primary": True}],
                "contacts": [
                    {"firstName": "Tina", "lastName": "Tenant", "phones": [{"number": "617.555.0122"}]}
                ],
            }
        },
    )
    client = data["clientCreate"]["client"]
    assert client["isCompany"] is True and client["name"] == "Harbor Realty"
    found = q(
        base,
        token,
        """{ clientPhones(searchTerm: "6175550122", first: 5) { nodes { number client { id } } } }""",
    )["clientPhones"]["nodes"]
    assert found == [{"number": "617.555.0122", "client": {"id": client["id"]}}]
    state = requests.get(f"{base}/_sandbox/state", params={"account_id": acct["account"]["id"]}, timeout=5)
    [stored] = state.json()["accounts"][0]["clients"]
    assert stored["contacts"][0]["name"] == "Tina Tenant"
    phones = q(
        base,
        token,
        """query($id: EncodedId!) { client(id: $id) { own: phones { number }
        all: phones(filter: {includeSecondaryContacts: true}) { number } } }""",
        {"id": client["id"]},
    )["client"]
    assert [p["number"] for p in phones["own"]] == ["617-555-0111"]
    assert {p["number"] for p in phones["all"]} == {"617-555-0111", "617.555.0122"}
    emails = q(base, token, '{ clientEmails(searchTerm: "nobody@", first: 5) { nodes { address } } }')
    assert emails["clientEmails"]["nodes"] == []


def test_seed_is_deterministic(base: str) -> None:
    states = []
    for _ in range(2):
        acct = new_account(base, name="Det", seed_clients=30, seed=99)
        r = requests.get(f"{base}/_sandbox/state", params={"account_id": acct["account"]["id"]}, timeout=5)
        clients = r.json()["accounts"][0]["clients"]
        states.append(
            [(c["name"], [p["number"] for p in c["phones"]], c["tags"], c["updatedAt"]) for c in clients]
        )
    assert states[0] == states[1] and len(states[0]) == 30


# ----- auth, versions, OAuth ------------------------------------------------------------------------------


def test_auth_failures(base: str, account: dict[str, Any]) -> None:
    for token in (None, "not-a-jwt", account["access_token"][:-3] + "abc"):
        r = gql_post(base, token, "{ account { id } }")
        assert r.status_code == 401 and "Invalid Token Error" in r.text
    expired = requests.post(
        f"{base}/_sandbox/tokens",
        json={"account_id": account["account"]["id"], "access_token_ttl_s": -5},
        timeout=5,
    ).json()
    r = gql_post(base, expired["access_token"], "{ account { id } }")
    assert r.status_code == 401 and "Invalid Token Error" in r.text
    payload = expired["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] < time.time()


def test_missing_version_header(base: str, account: dict[str, Any]) -> None:
    r = gql_post(base, account["access_token"], "{ account { id } }", version=None)
    assert r.status_code == 400 and "X-JOBBER-GRAPHQL-VERSION" in r.json()["errors"][0]["message"]
    r = gql_post(base, account["access_token"], "{ account { id } }", version="2022-03-10")
    assert r.status_code == 200 and r.json()["extensions"]["versioning"]["warning"]


def test_oauth_code_flow_and_refresh_rotation(base: str) -> None:
    account = new_account(base, name="Acme Plumbing")  # re-authorizing kills this account's older tokens
    r = requests.get(
        f"{base}/api/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": "test-client",
            "redirect_uri": "http://localhost/cb",
            "state": "xyz",
            "account_id": account["account"]["id"],
        },
        allow_redirects=False,
        timeout=5,
    )
    assert r.status_code == 302
    location = requests.utils.urlparse(r.headers["location"])
    params = dict(p.split("=", 1) for p in location.query.split("&"))
    assert params["state"] == "xyz"
    form = {
        "client_id": "test-client",
        "client_secret": SECRET,
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": "http://localhost/cb",
    }
    pair = requests.post(f"{base}/api/oauth/token", data=form, timeout=5).json()
    assert set(pair) == {"access_token", "refresh_token"}  # no expires_in
    assert q(base, pair["access_token"], "{ account { id } }")["account"]["id"] == account["account"]["id"]
    assert gql_post(base, account["access_token"], "{ account { id } }").status_code == 401  # superseded
    reused = requests.post(f"{base}/api/oauth/token", data=form, timeout=5)
    assert reused.status_code == 401  # codes are single use
    refresh = {
        "client_id": "test-client",
        "client_secret": SECRET,
        "grant_type": "refresh_token",
        "refresh_token": pair["refresh_token"],
    }
    new_pair = requests.post(f"{base}/api/oauth/token", data=refresh, timeout=5).json()
    assert new_pair["refresh_token"] != pair["refresh_token"]
    assert q(base, new_pair["access_token"], "{ account { name } }")["account"]["name"] == "Acme Plumbing"
    old = requests.post(f"{base}/api/oauth/token", data=refresh, timeout=5)
    assert old.status_code == 401 and old.json()["error"] == "invalid_grant"
    denied = requests.get(
        f"{base}/api/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": "test-client",
            "redirect_uri": "http://localhost/cb",
            "deny": "1",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert denied.headers["location"] == "http://localhost/cb"


def test_the_app_marketplace_starts_oauth_without_state_and_refuses_what_jobber_would(base: str) -> None:
    callback, manage = "http://localhost/oauth/jobber/callback", "http://localhost/jobber/manage"
    created = new_account(base, name="Marketplace Co", connect=False)
    fresh = created["account"]
    assert created["access_token"] is None  # an account that has not connected the app
    listed = requests.get(f"{base}/_sandbox/accounts", timeout=5).json()
    assert next(a for a in listed if a["id"] == fresh["id"])["connected"] is False

    def click(path: str, account_id: str) -> requests.Response:
        return requests.get(
            f"{base}{path}", params={"account_id": account_id}, allow_redirects=False, timeout=5
        )

    def follow(response: requests.Response) -> requests.Response:
        return requests.get(f"{base}{response.headers['location']}", allow_redirects=False, timeout=5)

    # No Connect before the app registers its OAuth Callback URL (the Developer Center's form).
    assert click("/marketplace/connect", fresh["id"]).status_code == 409
    requests.post(f"{base}/_sandbox/app", json={"oauth_callback_url": callback}, timeout=5).raise_for_status()
    try:
        back = follow(click("/marketplace/connect", fresh["id"]))
        assert back.status_code == 302 and back.headers["location"].startswith(f"{callback}?code=")
        assert "state=" not in back.headers["location"]  # the Marketplace starts OAuth without state (§2.2)
        code = back.headers["location"].split("code=")[1]
        form = {
            "client_id": "test-client",
            "client_secret": SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback,
        }
        pair = requests.post(f"{base}/api/oauth/token", data=form, timeout=5).json()
        assert q(base, pair["access_token"], "{ account { id } }")["account"]["id"] == fresh["id"]
        # Connected: the listing shows Disconnect (and Manage App once registered), not Connect.
        assert click("/marketplace/connect", fresh["id"]).status_code == 409
        assert click("/marketplace/manage", fresh["id"]).status_code == 409  # no Manage App URL yet
        # A redirect_uri other than the registered callback is refused (§2.3).
        other = {
            "response_type": "code",
            "client_id": "test-client",
            "redirect_uri": "http://evil.test/cb",
            "account_id": fresh["id"],
        }
        refused = requests.get(f"{base}/api/oauth/authorize", params=other, allow_redirects=False, timeout=5)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_redirect_uri"

        requests.post(f"{base}/_sandbox/app", json={"manage_app_url": manage}, timeout=5).raise_for_status()
        managed = click("/marketplace/manage", fresh["id"])
        assert managed.status_code == 302 and managed.headers["location"].startswith(f"{manage}?code=")
        page = requests.get(f"{base}/marketplace", timeout=5).text
        assert f'id="manage-{fresh["id"]}"' in page and f'id="connect-{fresh["id"]}"' not in page
        requests.post(f"{base}/marketplace/disconnect", data={"account_id": fresh["id"]}, timeout=5)
        assert click("/marketplace/manage", fresh["id"]).status_code == 409  # disconnected: no Manage App
        gone = gql_post(base, pair["access_token"], "{ account { id } }")
        assert "disconnected this app" in gone.text
    finally:
        requests.post(
            f"{base}/_sandbox/app", json={"oauth_callback_url": None, "manage_app_url": None}, timeout=5
        )


# ----- cost and limits ------------------------------------------------------------------------------------


def test_cost_extensions(base: str, account: dict[str, Any]) -> None:
    r = gql_post(base, account["access_token"], "{ clients(first: 10) { nodes { id name } } }")
    ext = r.json()["extensions"]
    assert ext["cost"]["requestedQueryCost"] == 1 + 10 * 2
    assert ext["cost"]["actualQueryCost"] == 1 + 10 * 2  # the seeded account has >= 10 clients
    assert ext["cost"]["throttleStatus"]["maximumAvailable"] == 10000
    assert ext["cost"]["throttleStatus"]["restoreRate"] == 500
    assert ext["versioning"]["version"] == VERSION
    unbounded = gql_post(
        base, account["access_token"], "{ clients { nodes { id tags { nodes { label } } } } }"
    )
    assert unbounded.json()["extensions"]["cost"]["requestedQueryCost"] == 1 + 100 * (1 + 1 + 100 * 1)


@pytest.fixture
def small_server() -> Iterator[ServerThread]:
    srv = ServerThread(create_app(bucket_max=300, restore_rate=10, request_limit=5)).start()
    yield srv
    srv.stop()


def test_throttled_when_bucket_drained(small_server: ServerThread) -> None:
    acct = new_account(small_server.url)
    query = "{ clients(first: 100) { nodes { id name } } }"  # requested 201
    assert gql_post(small_server.url, acct["access_token"], query).status_code == 200
    r = gql_post(
        small_server.url, acct["access_token"], "{ clients(first: 100) { nodes { id name phone } } }"
    )
    body = r.json()
    assert r.status_code == 200
    assert body["errors"][0]["message"] == "Throttled"
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["errors"][0]["extensions"]["documentation"].startswith("https://developer.getjobber.com")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 301 and cost["actualQueryCost"] == 0
    assert cost["throttleStatus"]["maximumAvailable"] == 300


def test_429_past_request_limit(small_server: ServerThread) -> None:
    acct = new_account(small_server.url)
    codes = [
        gql_post(small_server.url, acct["access_token"], "{ account { id } }").status_code for _ in range(7)
    ]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    other = new_account(small_server.url)  # per account
    assert gql_post(small_server.url, other["access_token"], "{ account { id } }").status_code == 200


# ----- faults ---------------------------------------------------------------------------------------------


@pytest.fixture
def faults(base: str) -> Iterator[str]:
    yield f"{base}/_sandbox/faults"
    requests.post(f"{base}/_sandbox/faults", json={"reset": True}, timeout=5)


def test_fault_latency(base: str, account: dict[str, Any], faults: str) -> None:
    requests.post(faults, json={"latency_s": 0.3}, timeout=5)
    started = time.monotonic()
    assert gql_post(base, account["access_token"], "{ account { id } }").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_fail_next_and_error_rate(base: str, account: dict[str, Any], faults: str) -> None:
    requests.post(faults, json={"fail_next": 2, "error_status": 502}, timeout=5)
    codes = [gql_post(base, account["access_token"], "{ account { id } }").status_code for _ in range(3)]
    assert codes == [502, 502, 200]
    requests.post(faults, json={"error_rate": 1.0}, timeout=5)
    assert gql_post(base, account["access_token"], "{ account { id } }").status_code == 502
    assert requests.get(f"{base}/_sandbox/state", timeout=5).status_code == 200  # admin API is exempt


def test_fault_throttle(base: str, account: dict[str, Any], faults: str) -> None:
    requests.post(faults, json={"throttle": True}, timeout=5)
    body = gql_post(base, account["access_token"], "{ account { id } }").json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"


# ----- lifecycle, webhooks --------------------------------------------------------------------------------


def test_app_disconnect_then_plain_json_error(base: str) -> None:
    acct = new_account(base, name="Leaving Co")
    data = q(
        base,
        acct["access_token"],
        "mutation { appDisconnect { app { name author } userErrors { message path } } }",
    )
    assert data["appDisconnect"] == {"app": {"name": "Aircall", "author": "Aircall"}, "userErrors": []}
    r = gql_post(base, acct["access_token"], "{ account { id } }")
    assert r.status_code == 401
    assert r.json() == {
        "message": "User has disconnected this app from their account. Please delete this token"
    }
    refresh = requests.post(
        f"{base}/api/oauth/token",
        data={
            "client_id": "test-client",
            "client_secret": SECRET,
            "grant_type": "refresh_token",
            "refresh_token": acct["refresh_token"],
        },
        timeout=5,
    )
    assert refresh.status_code == 401


def test_inactive_account(base: str) -> None:
    acct = new_account(base, name="Churned Co")
    requests.post(
        f"{base}/_sandbox/accounts/{acct['account']['id']}/active", json={"active": False}, timeout=5
    )
    r = gql_post(base, acct["access_token"], "{ account { id } }")
    assert r.json() == {"error": {"message": "This account is not active"}}


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers.get("X-Jobber-Hmac-SHA256", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    httpd = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()
    httpd.server_close()


def _verify(body: bytes, header: str) -> bool:
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, header)


def test_send_webhook_signature(receiver: str) -> None:
    account_id = base64.b64encode(b"gid://Jobber/Account/1").decode()
    item_id = base64.b64encode(b"gid://Jobber/Client/2").decode()
    assert send_webhook(receiver, SECRET, "CLIENT_UPDATE", account_id, item_id).status_code == 200
    body, header = _Receiver.received[0]
    assert _verify(body, header)
    event = json.loads(body)["data"]["webHookEvent"]
    assert (
        event["topic"] == "CLIENT_UPDATE" and event["accountId"] == account_id and event["itemId"] == item_id
    )
    assert set(event) == {"topic", "appId", "accountId", "itemId", "occurredAt"}


def test_automatic_client_webhooks(base: str, receiver: str) -> None:
    requests.post(
        f"{base}/_sandbox/webhooks",
        json={"url": receiver, "topics": ["CLIENT_CREATE", "CLIENT_UPDATE"]},
        timeout=5,
    )
    try:
        acct = new_account(base, name="Hooked Co")
        client = create_client(base, acct["access_token"], firstName="Hook", lastName="Ed")
        until(lambda: _Receiver.received, timeout=5, what="the CLIENT_CREATE webhook")
    finally:
        requests.post(f"{base}/_sandbox/webhooks", json={"url": None}, timeout=5)
    body, header = _Receiver.received[0]
    assert _verify(body, header)
    event = json.loads(body)["data"]["webHookEvent"]
    assert (event["topic"], event["itemId"], event["accountId"]) == (
        "CLIENT_CREATE",
        client["id"],
        acct["account"]["id"],
    )


def test_lose_answer_runs_the_operation_but_drops_its_answer(base: str) -> None:
    acct = new_account(base, name="Lossy Co")
    token = acct["access_token"]
    requests.post(f"{base}/_sandbox/lose_answer", json={"field": "clientCreate", "status": 504}, timeout=5)
    lost = gql_post(base, token, CREATE, {"input": {"firstName": "Ghost", "lastName": "Writer"}})
    assert lost.status_code == 504
    again = gql_post(base, token, CREATE, {"input": {"firstName": "Second", "lastName": "Try"}})
    assert again.status_code == 200  # once only
    names = q(base, token, "{ clients(first: 5) { nodes { name } } }")["clients"]["nodes"]
    assert {n["name"] for n in names} == {"Ghost Writer", "Second Try"}  # the lost one was committed


def test_tasks_are_listed_by_start_and_filtered_by_creation(base: str) -> None:
    acct = new_account(base, name="Tasks Co")
    token = acct["access_token"]
    create = "mutation($i: TaskCreateInput!) { taskCreate(input: $i) { task { id } userErrors { message } } }"
    for title, start in (
        ("later", "2027-02-01T09:00:00Z"),
        ("unscheduled", None),
        ("sooner", "2027-01-01T09:00:00Z"),
    ):
        q(base, token, create, {"i": {"title": title, **({"startAt": start} if start else {})}})
    listed = q(base, token, "{ tasks(first: 10) { nodes { title } } }")["tasks"]["nodes"]
    assert [t["title"] for t in listed] == ["sooner", "later", "unscheduled"]  # START_AT ascending by default
    recent = q(
        base,
        token,
        '{ tasks(first: 10, filter: {createdAt: {after: "2000-01-01T00:00:00Z"}}) { totalCount } }',
    )
    future = q(
        base,
        token,
        '{ tasks(first: 10, filter: {createdAt: {after: "2999-01-01T00:00:00Z"}}) { totalCount } }',
    )
    assert (recent["tasks"]["totalCount"], future["tasks"]["totalCount"]) == (3, 0)


def test_notes_sort_by_creation_and_the_unsorted_order_is_a_setting(base: str) -> None:
    """`notes(sort: [NotesSortInput!])` as in the real schema; without `sort` the order is UNCONFIRMED, so it
    is a sandbox setting (`/_sandbox/notes_order`, reset restores it)."""
    token = new_account(base, name="Notes Co")["access_token"]
    client = create_client(base, token, firstName="Nora", lastName="Notes")
    note = (
        "mutation($c: EncodedId!, $m: String!) { clientCreateNote(clientId: $c, input: {message: $m}) "
        "{ clientNote { id } } }"
    )
    for message in ("first", "second", "third"):
        q(base, token, note, {"c": client["id"], "m": message})
    query = (
        "query($id: EncodedId!, $sort: [NotesSortInput!]) { client(id: $id) "
        "{ notes(first: 5, sort: $sort) { nodes { message createdAt } } } }"
    )

    def listed(sort: list[dict[str, str]] | None = None) -> list[str]:
        nodes = q(base, token, query, {"id": client["id"], "sort": sort})["client"]["notes"]["nodes"]
        assert all(n["createdAt"].endswith("Z") for n in nodes)
        return [n["message"] for n in nodes]

    assert listed([{"key": "CREATED_AT", "direction": "DESCENDING"}]) == ["third", "second", "first"]
    assert listed([{"key": "CREATED_AT", "direction": "ASCENDING"}]) == ["first", "second", "third"]
    assert listed() == ["third", "second", "first"]  # the default reading: newest first
    try:
        assert requests.post(f"{base}/_sandbox/notes_order", json={"default": "oldest"}, timeout=5).ok
        assert listed() == ["first", "second", "third"]
        assert listed([{"key": "CREATED_AT", "direction": "DESCENDING"}]) == ["third", "second", "first"]
        refused = requests.post(f"{base}/_sandbox/notes_order", json={"default": "random"}, timeout=5)
        assert refused.status_code == 400
        bad_sort = gql_post(
            base,
            token,
            query,
            {"id": client["id"], "sort": [{"key": "UPDATED_AT", "direction": "ASCENDING"}]},
        )
        assert "errors" in bad_sort.json()  # only CREATED_AT sorts notes, as in the real schema
    finally:
        requests.post(f"{base}/_sandbox/notes_order", json={"default": "newest"}, timeout=5)
