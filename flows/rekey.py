"""Re-encrypt every stored secret with the current SECRET_KEY (`ajctl secrets reencrypt`, README "Rotating
SECRET_KEY"): each integration's tokens and each Jobber consent waiting for an admin. Idempotent: what the
current key already opens is left alone, so the command can be rerun (e.g. after it was interrupted, or after
a role still running with the old key wrote something)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config.settings import Settings, get_settings
from flows.connect import pending_store
from flows.vendors import store_for
from store.reseal import OUTCOMES, Outcome

log = logging.getLogger(__name__)

KINDS = ("integrations", "pending_jobber")


@dataclass(frozen=True)
class Sealed:
    """One stored record holding secrets: an integration (its id) or a waiting Jobber consent (its digest)."""

    kind: str
    ref: str

    @property
    def label(self) -> str:
        # A consent's digest names no browser, but its first characters are enough to tell records apart.
        return self.ref if self.kind == "integrations" else self.ref[:12]


def stored_secrets(settings: Settings | None = None) -> list[Sealed]:
    """Every record that holds sealed secrets now."""
    settings = settings or get_settings()
    integrations = [Sealed("integrations", i) for i in store_for(settings).ids()]
    return integrations + [Sealed("pending_jobber", d) for d in pending_store(settings).digests()]


def reencrypt(
    records: list[Sealed], settings: Settings | None = None, progress: Callable[[Sealed], None] | None = None
) -> dict[str, Any]:
    """Reseal `records` with the current key. The summary counts each kind's outcomes (store/reseal.py), with
    the records no key opens listed by id."""
    settings = settings or get_settings()
    store, pending = store_for(settings), pending_store(settings)
    summary: dict[str, Any] = {
        "previous_key_set": len(settings.secret_key().all) > 1,
        **{kind: {**dict.fromkeys(OUTCOMES[:-1], 0), "unreadable": []} for kind in KINDS},
    }
    for record in records:
        outcome: Outcome = (
            store.reseal(record.ref) if record.kind == "integrations" else pending.reseal(record.ref)
        )
        tally = summary[record.kind]
        if outcome == "unreadable":
            tally["unreadable"].append(record.label)
            log.warning("secrets.unreadable kind=%s id=%s", record.kind, record.label)
        else:
            tally[outcome] += 1
        if progress is not None:
            progress(record)
    summary["resealed"] = sum(summary[k]["resealed"] for k in KINDS)
    summary["unreadable"] = sum(len(summary[k]["unreadable"]) for k in KINDS)
    log.info("secrets.reencrypted resealed=%s unreadable=%s", summary["resealed"], summary["unreadable"])
    return summary
