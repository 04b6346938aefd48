"""The ids of a hand-built task message (store/messages.py `random_uuids`): random version-4 UUIDs in the
spelling Celery and kombu use (str(uuid.uuid4())), two different ones per message."""

from __future__ import annotations

import uuid

import orjson

from store.messages import random_uuids, task_message


def test_they_are_version_4_uuids_spelled_as_uuid_spells_them() -> None:
    seen = set()
    for _ in range(2000):
        for text in random_uuids():
            parsed = uuid.UUID(text)
            assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
            assert str(parsed) == text
            seen.add(text)
    assert len(seen) == 4000


def test_a_message_has_its_own_task_id_and_delivery_tag() -> None:
    first, second = (orjson.loads(task_message("calls.log_activity", ["ev_x"], "jobber")) for _ in range(2))
    ids = {m["headers"]["id"] for m in (first, second)} | {
        m["properties"]["delivery_tag"] for m in (first, second)
    }
    assert len(ids) == 4
    assert first["headers"]["root_id"] == first["headers"]["id"] == first["properties"]["correlation_id"]
