"""A call snapshot keeps what the merge, the voice-agent paths and the activity text read, and nothing else:
the rendered activity is the same from compact snapshots as from the raw events, for every scenario."""

from collections import defaultdict

import pytest

from domain.activity import render_call
from domain.calls import Snapshot, has_ended, merge_call
from domain.envelope import resource_id_of
from domain.payloads import Call
from domain.voice_agent import voice_agent_view
from sandbox.scenarios import SCENARIOS, ScenarioContext, build
from store.calls import compact

CALL_SCENARIOS = [n for n in SCENARIOS if n not in ("demo", "integration_deleted", "messages", "calls_ended")]


def calls_of(name: str) -> dict[str, list[Snapshot]]:
    """The scenario's call and voice-agent events, as raw snapshots per call."""
    found: dict[str, list[Snapshot]] = defaultdict(list)
    for event in build(name, ScenarioContext(seed=3), count=2):
        if event["event"].startswith(("call.", "ai_voice_agent.")):
            call_id = resource_id_of(event["event"], event["data"])
            found[str(call_id)].append(Snapshot(event["event"], event["timestamp"], event["data"]))
    return found


def rendered(snapshots: list[Snapshot]) -> tuple[str, str]:
    call = merge_call(snapshots)
    activity = render_call(call, voice_agent_view(snapshots, call))
    return activity.title, activity.text


@pytest.mark.parametrize("name", CALL_SCENARIOS)
def test_the_activity_rendered_from_compact_snapshots_is_unchanged(name):
    calls = calls_of(name)
    assert calls
    for snapshots in calls.values():
        small = [Snapshot(s.event, s.timestamp, compact(s.data)) for s in snapshots]
        for raw, kept in zip(snapshots, small, strict=True):
            if raw.event.startswith("call."):
                assert Call.model_validate(kept.data) == Call.model_validate(raw.data)
        if has_ended(snapshots):
            assert rendered(small) == rendered(snapshots)


def test_a_snapshot_drops_what_nothing_reads():
    snapshots = next(iter(calls_of("aiva_transfer_answered").values()))
    ended = next(s.data for s in snapshots if s.event == "call.ended")
    kept = compact(ended)
    for unread in ("participants", "contact", "call_uuid", "cost", "archived", "hangup_cause"):
        assert unread not in kept
    assert set(kept["number"]) <= {"id", "name", "digits", "e164_digits", "country", "time_zone"}
    assert set(kept["user"]) == {"id", "name", "email"}
    summary = next(s.data for s in snapshots if s.event == "ai_voice_agent.summary")
    assert {"ai_voice_agent_name", "summary", "extracted_data"} <= set(compact(summary))
    assert "ai_voice_agent_session_id" not in compact(summary)


def test_objects_and_empty_values_keep_their_meaning():
    assert compact({"id": 1, "user": {}, "number": None, "tags": []}) == {"id": 1, "user": {}, "tags": []}
    # An object with none of the fields we know still says "there is one".
    assert compact({"id": 1, "assigned_to": {"kind": "ring_group"}})["assigned_to"] == {"kind": "ring_group"}
