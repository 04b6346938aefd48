"""AI insights end to end (SPEC F7): webhooks → fetch from the sandbox Aircall (404 until generated) → one
"AI insights" note per call on the call's client; topics as tags and action items as
tasks when switched on."""

from __future__ import annotations

import itertools
import json
import random
import time

import pytest
import requests

from sandbox.scenarios import payloads as p
from store.ledger import Ledger
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"
_ids = itertools.count(9_800_000_001)
CONTENT = {
    "summary": "Burst pipe under the sink; wants a visit tomorrow.",
    "topics": ["plumbing", "urgent"],
    "sentiment": "NEGATIVE",
    "action_items": ["Book a visit for tomorrow 9am", "Send a quote"],
    "utterances": [
        {"text": "My pipe burst.", "participant_type": "external"},
        {"text": "We'll be there tomorrow.", "participant_type": "internal", "user_id": 456},
    ],
}


@pytest.fixture
def world(vendors):
    company = requests.post(
        f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme", "ai_assist": True}, timeout=5
    ).json()
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    client = requests.post(
        f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    ).json()
    return type(
        "World",
        (),
        {
            "aircall": vendors.aircall,
            "jobber": vendors.jobber,
            "company": company,
            "account": account,
            "client_id": client["id"],
        },
    )


def tenant(world, **ai):
    return make_tenant(
        jobber=world.account,
        aircall=world.company,
        numbers=[world.company["numbers"][0]["id"]],
        aircall_plan_ai_assist=True,
        ai_logging={"enabled": True, **ai},
    )


def a_call(world, token: str) -> tuple[list[dict], list[dict]]:
    line = {**world.company["numbers"][0], "e164_digits": "+14155550199"}
    events = p.inbound_answered_call(
        next(_ids),
        token=token,
        number=line,
        external=CALLER,
        agent=AGENT,
        started_at=int(time.time()) - 600,
        comments=(),
        tags=(),
    )
    final = events[-1]["data"]
    requests.post(
        f"{world.aircall}/_sandbox/calls", json={"call": final, "company_id": world.company["id"]}, timeout=5
    )
    return events, p.ai_insight_events(final, token=token, after=events[-1]["timestamp"])


def generate(world, call_id: int) -> None:
    requests.post(
        f"{world.aircall}/_sandbox/calls/{call_id}/ai", json={"content": CONTENT}, timeout=5
    ).raise_for_status()


def send(ingest_url, r, events, *, wait: bool = True) -> list[str]:
    ids = sorted(
        {requests.post(f"{ingest_url}/webhooks/aircall", json=e, timeout=5).json()["id"] for e in events}
    )
    if wait:
        until(
            lambda: all((Ledger(r).get(i) or {}).get("outcome") not in (None, "pending") for i in ids),
            timeout=40,
            what="events",
        )
    return ids


def client(world) -> dict:
    state = requests.get(f"{world.jobber}/_sandbox/state", timeout=5).json()
    return next(c for a in state["accounts"] for c in a["clients"] if c["id"] == world.client_id)


def ai_notes(world) -> list[str]:
    return [n["message"] for n in client(world)["notes"] if n["message"].startswith("AI insights — ")]


def test_one_ai_note_with_every_part_in_any_order(r, ingest_url, worker, world):
    t = tenant(world)
    calls, ai = a_call(world, t.webhook_token)
    generate(world, calls[0]["data"]["id"])
    batch = (calls + ai) * 2
    random.Random(5).shuffle(batch)

    send(ingest_url, r, batch)
    expected = [
        "AI insights — Inbound call answered by Madelaine Dupont",
        "Summary: Burst pipe under the sink; wants a visit tomorrow.",
        "Topics: plumbing, urgent",
        "Sentiment: Negative",
        "Action items:",
        "- Book a visit for tomorrow 9am",
        "- Send a quote",
        "Transcription:",
        "- Caller: My pipe burst.",
        "- Madelaine Dupont: We'll be there tomorrow.",
        f"Aircall: https://api.aircall.io/v1/calls/{calls[0]['data']['id']}",
    ]
    # Content that came before the call was logged is written by a follow-up task: wait for the final text.
    until(
        lambda: [n.splitlines() for n in ai_notes(world)] == [expected],
        timeout=30,
        what="the complete AI note",
    )
    assert len(client(world)["notes"]) == 2  # the call's activity and its AI insights


def test_content_not_generated_yet_is_retried_until_it_is(r, ingest_url, worker, world):
    t = tenant(world, transcription=False, topics=False, sentiment=False, action_items=False)
    calls, ai = a_call(world, t.webhook_token)
    send(ingest_url, r, calls)
    summary = [e for e in ai if e["event"] == "summary.created"]
    [event_id] = send(ingest_url, r, summary, wait=False)
    until(
        lambda: any(a["kind"] == "transient" for a in Ledger(r).show(event_id)["attempts"]),
        what="a 404 retry",
    )
    generate(world, calls[0]["data"]["id"])
    until(
        lambda: Ledger(r).get(event_id)["outcome"] == "done", timeout=30, what="the summary after generation"
    )
    assert ai_notes(world) == [
        f"AI insights — Inbound call answered by Madelaine Dupont\nSummary: {CONTENT['summary']}\n"
        f"Aircall: https://api.aircall.io/v1/calls/{calls[0]['data']['id']}"
    ]


def test_topics_as_tags_and_action_items_as_tasks_once(r, ingest_url, worker, world):
    t = tenant(world, topics_as_tags=True, action_items_as_tasks=True)
    calls, ai = a_call(world, t.webhook_token)
    generate(world, calls[0]["data"]["id"])
    send(ingest_url, r, calls + ai)
    # Each of the five AI events rewrites the note and checks the tasks: the item → task map keeps one each.
    until(lambda: len(client(world)["notes"]) == 2, what="the AI note")

    assert {"plumbing", "urgent"} <= set(client(world)["tags"])
    state = requests.get(f"{world.jobber}/_sandbox/state", timeout=5).json()
    tasks = [
        task["title"] for a in state["accounts"] for task in a["tasks"] if task["clientId"] == world.client_id
    ]
    assert sorted(tasks) == ["Book a visit for tomorrow 9am", "Send a quote"]


def test_without_ai_assist_or_with_ai_logging_off_nothing_ai_is_logged(r, ingest_url, worker, world):
    t = make_tenant(jobber=world.account, aircall=world.company, numbers=[world.company["numbers"][0]["id"]])
    calls, ai = a_call(world, t.webhook_token)
    generate(world, calls[0]["data"]["id"])
    ids = send(ingest_url, r, calls + ai)
    assert ai_notes(world) == []
    reasons = {
        Ledger(r).get(i)["reason"]
        for i in ids
        if Ledger(r).get(i)["event"].endswith(".created") and "." in Ledger(r).get(i)["event"]
    }
    assert "AI logging is off (or the Aircall company has no AI Assist)" in reasons


def test_a_task_created_just_before_a_crash_is_found_again_in_a_busy_account(r, ingest_url, worker, world):
    """Jobber created the task but its answer was lost. Real Jobber sorts `tasks` by START_AT ascending
    (jobber-schema-2025-04-16.graphql), so with many scheduled tasks the new unscheduled one is not among "the
    first 100": it is found by its creation time and the action item's marker instead,
    and never created twice."""
    from clients.jobber import JobberClient

    jobber = JobberClient(
        f"{world.jobber}/api/graphql", world.account["access_token"], api_version="2025-04-16"
    )
    task_create = (
        "mutation T($input: TaskCreateInput!) { taskCreate(input: $input) "
        "{ task { id } userErrors { message path } } }"
    )
    for i in range(105):
        jobber.mutate(
            task_create,
            {"input": {"title": f"Visit {i}", "startAt": f"2027-01-{1 + i % 28:02d}T09:00:00Z"}},
            "taskCreate",
        )
    t = tenant(world, action_items_as_tasks=True, transcription=False, topics=False, sentiment=False)
    calls, ai = a_call(world, t.webhook_token)
    generate(world, calls[0]["data"]["id"])
    send(ingest_url, r, calls)
    requests.post(f"{world.jobber}/_sandbox/lose_answer", json={"field": "taskCreate"}, timeout=5)

    [event_id] = send(ingest_url, r, [e for e in ai if e["event"] == "action_item.created"])

    assert Ledger(r).get(event_id)["outcome"] == "done"
    state = requests.get(f"{world.jobber}/_sandbox/state", timeout=5).json()
    mine = [
        task["title"] for a in state["accounts"] for task in a["tasks"] if task["clientId"] == world.client_id
    ]
    assert sorted(mine) == ["Book a visit for tomorrow 9am", "Send a quote"]


def test_a_retry_never_adopts_the_task_of_a_call_whose_link_extends_ours(r, ingest_url, worker, world):
    """The task's marker is a whole line: call 123's "Send a quote" is not call 1234's."""
    from clients.jobber import JobberClient

    jobber = JobberClient(
        f"{world.jobber}/api/graphql", world.account["access_token"], api_version="2025-04-16"
    )
    t = tenant(world, action_items_as_tasks=True, transcription=False, topics=False, sentiment=False)
    calls, ai = a_call(world, t.webhook_token)
    call_id = calls[0]["data"]["id"]
    generate(world, call_id)
    auth = (world.company["api_id"], world.company["api_token"])
    items = requests.get(f"{world.aircall}/v1/calls/{call_id}/action_items", auth=auth, timeout=5).json()
    quote = next(i["id"] for i in items["action_items"] if i["content"] == "Send a quote")
    # The same item id (an item without one is known by its text): only the call's link tells them apart.
    other = f"Aircall action item {quote} · https://api.aircall.io/v1/calls/{call_id}7"
    jobber.create_task(world.client_id, "Send a quote", f"From an Aircall call.\n{other}")
    send(ingest_url, r, calls)
    requests.post(f"{world.jobber}/_sandbox/lose_answer", json={"field": "taskCreate"}, timeout=5)

    [event_id] = send(ingest_url, r, [e for e in ai if e["event"] == "action_item.created"])

    assert Ledger(r).get(event_id)["outcome"] == "done"
    state = requests.get(f"{world.jobber}/_sandbox/state", timeout=5).json()
    mine = [
        task["title"] for a in state["accounts"] for task in a["tasks"] if task["clientId"] == world.client_id
    ]
    assert sorted(mine) == ["Book a visit for tomorrow 9am", "Send a quote", "Send a quote"]


def test_a_plan_without_ai_assist_skips_ai_with_the_reason_and_never_disconnects(
    r, ingest_url, worker, world
):
    """Aircall's AI endpoints answer 403 when the plan lacks AI Assist (aircall-api.md §6), although the admin
    ticked it: the call is still logged, AI events are skipped with that reason, the integration stays active
    and records that AI logging is unavailable, which its settings page shows."""
    from click.testing import CliRunner

    from cli import main as ajctl
    from config.settings import get_settings
    from ingest.web import SESSION_COOKIE
    from store.sessions import SessionStore

    company = world.company
    requests.post(f"{world.aircall}/_sandbox/companies/{company['id']}", json={"ai_assist": False}, timeout=5)
    t = tenant(world)
    calls, ai = a_call(world, t.webhook_token)

    ids = send(ingest_url, r, calls + ai)

    ai_ids = [i for i in ids if Ledger(r).get(i)["event"] in {e["event"] for e in ai}]
    assert len(ai_ids) == 5
    for event_id in ai_ids:
        shown = Ledger(r).show(event_id)
        assert shown["outcome"] == "skipped", shown
        assert shown["skips"][-1]["reason"].startswith(
            "AI logging unavailable: the Aircall plan does not include AI Assist"
        )
    assert [
        n.startswith("Inbound call answered") for n in (x["message"] for x in client(world)["notes"])
    ] == [True]
    shown = json.loads(CliRunner().invoke(ajctl, ["integrations", "show", t.id, "--json"]).stdout)
    assert (shown["status"], shown["message"], shown["reason"]) == ("active", None, None)
    assert "does not include AI Assist" in shown["ai_logging_unavailable"]["reason"]
    assert "403" in shown["ai_logging_unavailable"]["reason"]
    # Aircall was asked once at most per event, then not at all while the mark is fresh.
    routes = requests.get(f"{world.aircall}/_sandbox/state", timeout=5).json()["companies"][0]["requests"]
    asked = sum(n for route, n in routes["by_route"].items() if route.startswith("GET /v1/calls/{id}/"))
    assert 1 <= asked <= 5

    # The settings page says so, and its recent activity shows the skips with their reason.
    cookie, _ = SessionStore(r, get_settings().secret_key()).create(t.id)
    page = requests.get(f"{ingest_url}/settings", cookies={SESSION_COOKIE: cookie}, timeout=10).text
    assert 'id="ai-unavailable-badge">unavailable' in page
    assert "AI logging is unavailable: the Aircall plan does not include AI Assist" in page
    assert page.count("AI logging unavailable: the Aircall plan does not include AI Assist") >= 1


def test_ai_content_served_again_clears_the_unavailable_mark(r, ingest_url, worker, world):
    from flows.vendors import store_for
    from store import keys

    t = tenant(world, transcription=False, topics=False, sentiment=False, action_items=False)
    store_for().set_ai_unavailable(t.id, "the Aircall plan does not include AI Assist (test)")
    r.hset(
        keys.integration(t.id), "ai_unavailable_at", "2000-01-01T00:00:00+00:00"
    )  # long past the recheck delay
    calls, ai = a_call(world, t.webhook_token)
    generate(world, calls[0]["data"]["id"])

    send(ingest_url, r, calls + [e for e in ai if e["event"] == "summary.created"])

    until(lambda: len(ai_notes(world)) == 1, what="the AI note")
    assert store_for().require(t.id).ai_unavailable is None
