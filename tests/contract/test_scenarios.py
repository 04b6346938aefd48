"""Contract tests of the webhook scenario builders and the driver (`sandbox.play`): envelopes are valid,
call events carry int ids and full Call objects, delivery options work, and everything is delivered."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox import play
from sandbox.aircall import create_app
from sandbox.common import ServerThread
from sandbox.scenarios import SCENARIOS, ScenarioContext, build, delivery_order
from sandbox.scenarios import payloads as p

CALL_FIELDS = {
    "id",
    "direct_link",
    "call_uuid",
    "direction",
    "status",
    "missed_call_reason",
    "started_at",
    "answered_at",
    "ended_at",
    "duration",
    "raw_digits",
    "recording",
    "asset",
    "voicemail",
    "user",
    "number",
    "contact",
    "assigned_to",
    "transferred_by",
    "transferred_to",
    "teams",
    "comments",
    "tags",
    "participants",
}


def ctx(**kw: Any) -> ScenarioContext:
    return ScenarioContext(token="tok-123", seed=7, start=1_800_000_000, **kw)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_builds_valid_envelopes(name: str) -> None:
    events = build(name, ctx())
    assert events
    for e in events:
        assert set(e) == {"resource", "event", "timestamp", "token", "data"}
        assert e["token"] == "tok-123" and isinstance(e["timestamp"], int) and isinstance(e["data"], dict)
        json.dumps(e)  # JSON-serialisable
        if e["resource"] == "call":
            d = e["data"]
            assert set(d) >= CALL_FIELDS, CALL_FIELDS - set(d)
            assert isinstance(d["id"], int) and d["direction"] in ("inbound", "outbound")
            assert d["status"] in ("initial", "answered", "done")
            assert d["raw_digits"] == "anonymous" or d["raw_digits"].startswith("+1 ")
            assert {"id", "name", "digits", "e164_digits", "country", "time_zone"} <= set(d["number"])
            if d["user"] is not None:
                assert {"id", "name", "email"} <= set(d["user"])
        elif e["resource"] == "message":
            assert isinstance(e["data"]["id"], str) and e["event"] in ("message.sent", "message.received")
        elif e["event"] in p.CI_EVENTS:
            assert isinstance(e["data"]["call_id"], str) and int(e["data"]["call_id"]) > 0
        elif e["resource"] == "ai_voice_agent":
            assert isinstance(e["data"]["call_id"], int) and e["data"]["id"] == e["data"]["call_id"]
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


def test_inbound_answered_lifecycle_and_snapshots() -> None:
    agent = p.user_object(456)
    events = p.inbound_answered_call(
        42, token="t", number=p.number_object(), external="+14155550100", agent=agent, started_at=1000
    )
    names = [e["event"] for e in events]
    assert names == [
        "call.created",
        "call.ringing_on_agent",
        "call.answered",
        "call.hungup",
        "call.ended",
        "call.commented",
        "call.tagged",
        "call.comm_assets_generated",
    ]
    by = {e["event"]: e["data"] for e in events}
    assert by["call.created"]["status"] == "initial" and by["call.created"]["user"] is None
    assert by["call.answered"]["answered_at"] == 1006
    ended = by["call.ended"]
    assert ended["status"] == "done" and ended["duration"] == ended["ended_at"] - ended["started_at"]
    assert (
        ended["asset"] == "https://assets.aircall.io/recording/42"
        and ended["raw_digits"] == "+1 415-555-0100"
    )
    assert by["call.commented"]["comments"][0]["posted_by"]["id"] == 456
    assert by["call.tagged"]["tags"][0]["name"] == "Quote"
    assert events[4]["timestamp"] == ended["ended_at"] + 30  # ended ~30 s after hang-up
    # Snapshots are independent copies.
    events[0]["data"]["number"]["name"] = "changed"
    assert events[1]["data"]["number"]["name"] == "Support line"


def test_call_shapes() -> None:
    num, a, b = p.number_object(), p.user_object(1, name="A B"), p.user_object(2, name="C D")
    missed = p.missed_call(1, token="t", number=num, external="+14155550100", agent=a, started_at=0)[-1][
        "data"
    ]
    assert missed["answered_at"] is None and missed["missed_call_reason"] == "agents_did_not_answer"
    vm = p.voicemail_call(2, token="t", number=num, external="+14155550100", agent=a, started_at=0)
    assert "call.voicemail_left" in [e["event"] for e in vm] and vm[-1]["data"]["voicemail"]
    out = p.outbound_call(3, token="t", number=num, external="+14155550100", agent=a, started_at=0)
    assert out[0]["data"]["direction"] == "outbound" and out[0]["data"]["user"]["id"] == 1
    tr = p.transferred_call(
        4, token="t", number=num, external="+14155550100", agent=a, to_agent=b, started_at=0
    )
    t = next(e["data"] for e in tr if e["event"] == "call.transferred")
    assert t["transferred_by"]["id"] == 1 and t["transferred_to"]["id"] == 2 and t["user"]["id"] == 2
    ext = p.external_transferred_call(
        5, token="t", number=num, external="+14155550100", agent=a, to_number="+33612345678", started_at=0
    )
    x = next(e["data"] for e in ext if e["event"] == "call.external_transferred")
    assert (
        x["external_transferred_to"] == "+33 6 12 34 56 78"
        and x["external_caller_number"] == "+1 415-555-0100"
    )
    assert "external_transferred_to" not in ext[-1]["data"]  # only on that event
    asg = p.assigned_call(
        6, token="t", number=num, external="+14155550100", agent=a, assignee=b, started_at=0
    )
    assert asg[-1]["event"] == "call.assigned" and asg[-1]["data"]["assigned_to"]["id"] == 2
    un = p.untagged_call(7, token="t", number=num, external="+14155550100", agent=a, started_at=0)
    assert un[-1]["event"] == "call.untagged" and [t["name"] for t in un[-1]["data"]["tags"]] == ["Quote"]


def test_messages_ci_aiva_integration_shapes() -> None:
    events = build("messages", ctx())
    assert [e["event"] for e in events] == [
        "message.received",
        "message.sent",
        "message.received",
        "message.received",
    ]
    mms, wa = events[2]["data"], events[3]["data"]
    assert (
        set(mms["media_details"][0]) == {"file_name", "file_type", "presigned_url"} and mms["channel"] is None
    )
    assert wa["channel"] == "whatsapp" and events[0]["data"]["external_number"] == "+1 415-555-0100"
    call = p.call_object(
        99, direction="inbound", number=p.number_object(), external="+14155550100", started_at=5
    )
    ci = p.ai_insight_events(call, token="t", after=100)
    assert [e["event"] for e in ci] == list(p.CI_EVENTS)
    assert all(e["data"]["call_id"] == "99" and e["data"]["call_uuid"] for e in ci)
    assert next(e for e in ci if e["event"] == "sentiment.created")["data"]["id"] == 99
    for path in ("agent_only", "transfer_answered", "transfer_missed", "voicemail"):
        ev = p.aiva_call(
            7,
            token="t",
            number=p.number_object(),
            external="+14155550100",
            started_at=0,
            path=path,
            agent=p.user_object(),
        )
        names = [e["event"] for e in ev]
        assert ("ai_voice_agent.escalated" in names) == (path != "agent_only")
        summary = next(e["data"] for e in ev if e["event"] == "ai_voice_agent.summary")
        assert summary["summary"] and summary["extracted_data"] and summary["call_id"] == 7
        ended = next(e["data"] for e in ev if e["event"] == "call.ended")
        assert (ended["user"] is not None) == (path == "transfer_answered")
        assert bool(ended["voicemail"]) == (path == "voicemail")
    deleted = build("integration_deleted", ctx(company_id=3, integration_id=9))[0]
    assert deleted["data"] == {"integration_id": 9, "company_id": 3} and deleted["resource"] == "integration"


def test_context_seeds_numbers_and_is_deterministic() -> None:
    number = p.number_object(
        1234, e164="+442071234567", name="London", country="GB", time_zone="Europe/London"
    )
    c = ctx(externals=["+14155559000"], numbers=[number])
    events = build("inbound_answered", c, count=3)
    assert {e["data"]["raw_digits"] for e in events} == {"+1 415-555-9000"}
    assert {e["data"]["number"]["id"] for e in events} == {1234}
    assert len({e["data"]["id"] for e in events}) == 3
    assert build("demo", ctx()) == build("demo", ctx())
    demo = build("demo", ctx())
    assert {"call.ended", "message.received", "summary.created", "ai_voice_agent.summary"} <= {
        e["event"] for e in demo
    }
    with pytest.raises(KeyError):
        build("nope")


def test_duplicates_and_shuffle() -> None:
    events = build("inbound_answered", ctx())
    dup = delivery_order(events, duplicates=3)
    assert len(dup) == 3 * len(events) and dup[0] == dup[1] == dup[2] == events[0] and dup[0] is not dup[1]
    shuffled = delivery_order(events, duplicates=2, shuffle=True, seed=1)
    key = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731
    assert sorted(map(key, shuffled)) == sorted(map(key, events + events))
    assert shuffled != delivery_order(events, duplicates=2) and shuffled == delivery_order(
        events, duplicates=2, shuffle=True, seed=1
    )
    with pytest.raises(ValueError):
        delivery_order(events, duplicates=0)


# --- the driver against a tiny receiver -----------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bodies: list[dict[str, Any]] = []
        self.fail_event: str | None = None

    async def hook(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self.lock:
            self.bodies.append(body)
        if body["event"] == self.fail_event:
            return JSONResponse({"error": "nope"}, 500)
        return JSONResponse({"ok": True})


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    thread = ServerThread(Starlette(routes=[Route("/webhooks/aircall", rec.hook, methods=["POST"])])).start()
    yield rec, thread.url
    thread.stop()


def test_driver_delivers_everything(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    rec.bodies.clear()
    events = delivery_order(build("demo", ctx()), duplicates=2, shuffle=True, seed=3)
    result = play.play(events, url)
    assert result.ok and result.sent == len(events) and result.statuses == Counter({"200": len(events)})
    assert sorted(map(json.dumps, rec.bodies)) == sorted(map(json.dumps, events))


def test_driver_reports_failures_and_cli_exit_code(receiver: tuple[Receiver, str], capsys: Any) -> None:
    rec, url = receiver
    rec.fail_event = "call.ended"
    try:
        code = play.main(["missed", "--target", url, "--token", "t", "--seed", "1", "--rate", "200/s"])
    finally:
        rec.fail_event = None
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["statuses"] == {"200": 3, "500": 1} and out["failed"] == 1
    assert play.main(["missed", "--target", url, "--token", "t", "--duplicates", "2", "--shuffle"]) == 0
    assert json.loads(capsys.readouterr().out)["sent"] == 8
    assert (
        play.play(build("missed", ctx()), "http://127.0.0.1:9/webhooks/aircall", timeout=1).statuses["error"]
        == 4
    )


def test_driver_keeps_aircall_emulator_in_step(receiver: tuple[Receiver, str], capsys: Any) -> None:
    _, url = receiver
    aircall = ServerThread(create_app()).start()
    try:
        company = requests.post(f"{aircall.url}/_sandbox/companies", json={}, timeout=5).json()
        auth = (company["api_id"], company["api_token"])
        hook = requests.post(
            f"{aircall.url}/v1/webhooks", auth=auth, json={"url": f"{url}/webhooks/aircall"}
        ).json()
        # No --token: discovered from the emulator together with its numbers and users.
        code = play.main(
            [
                "ai_insights",
                "--target",
                url,
                "--aircall-url",
                aircall.url,
                "--seed",
                "5",
                "--externals",
                "+14155550142",
            ]
        )
        assert code == 0, capsys.readouterr().out
        calls = requests.get(f"{aircall.url}/v1/calls", auth=auth, timeout=5).json()["calls"]
        assert (
            len(calls) == 1 and calls[0]["status"] == "done" and calls[0]["raw_digits"] == "+1 415-555-0142"
        )
        assert calls[0]["number"]["id"] == company["numbers"][0]["id"]
        call_id = calls[0]["id"]
        summary = requests.get(f"{aircall.url}/v1/calls/{call_id}/summary", auth=auth, timeout=5)
        assert summary.status_code == 200 and summary.json()["summary"]["call_id"] == call_id
        assert hook["webhook"]["token"]
    finally:
        aircall.stop()
