"""Contact sync (SPEC F8): the Aircall contact a Jobber client should be, and what to change to get there.

Aircall contacts: name fields via `POST /v1/contacts/:id`; phone numbers only through `phone_details`
(aircall-api.md §5: the update call does not touch them); at most 20 numbers; at least one to exist.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from domain.phone import to_e164

MAX_PHONES = 20
LABELS = {"MAIN": "Main", "MOBILE": "Mobile", "WORK": "Work", "HOME": "Home", "FAX": "Fax", "OTHER": "Other"}


@dataclass(frozen=True)
class DesiredContact:
    first_name: str
    last_name: str
    company_name: str
    phones: tuple[tuple[str, str], ...]  # (label, E.164), in the client's order, no duplicates

    def fields(self) -> dict[str, str]:
        return {"first_name": self.first_name, "last_name": self.last_name, "company_name": self.company_name}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps([self.fields(), self.phones]).encode()).hexdigest()[:16]


def desired_contact(client: dict[str, Any] | None, default_region: str = "US") -> DesiredContact | None:
    """The contact a client should have; None when it should have none (gone, archived, no usable phone)."""
    if not client or client.get("isArchived"):
        return None
    phones: list[tuple[str, str]] = []
    for phone in client.get("phones") or []:
        e164 = phone.get("normalizedPhoneNumber") or to_e164(phone.get("number"), default_region)
        if e164 and e164 not in {p for _, p in phones}:
            label = LABELS.get(
                str(phone.get("description") or "").upper(), str(phone.get("description") or "") or "Main"
            )
            phones.append((label, e164))
    if not phones:
        return None
    first, last = (client.get("firstName") or "").strip(), (client.get("lastName") or "").strip()
    company = (client.get("companyName") or "").strip()
    if not first and not last:
        # A company client: its name is the company name (jobber-api.md §5.2).
        last = company or (client.get("name") or "").strip()
    return DesiredContact(
        first_name=first, last_name=last, company_name=company, phones=tuple(phones[:MAX_PHONES])
    )


def marker(client_id: str) -> str:
    """What identifies a contact we created for a Jobber client: written into the contact's `information`
    (its free-text notes) at create, never rewritten. A contact carrying it is ours for that client whatever
    our map says (a map that expired, a create whose answer was lost); the brackets end it, so one client's
    marker is never part of another's."""
    return f"[Jobber client {client_id}]"


def information(client_id: str) -> str:
    """The `information` of a contact we create: says where it comes from, with its marker."""
    return f"Synced from Jobber {marker(client_id)}"


def is_ours(contact: dict[str, Any], client_id: str) -> bool:
    return marker(client_id) in str(contact.get("information") or "")


@dataclass
class PhonePlan:
    add: list[tuple[str, str]] = field(default_factory=list)  # (label, E.164)
    remove: list[str] = field(default_factory=list)  # phone_details ids


def phone_plan(desired: DesiredContact, existing: list[dict[str, Any]]) -> PhonePlan:
    """Phone-detail changes that turn the contact's `phone_numbers` into the desired set."""
    plan = PhonePlan()
    current: dict[str, str] = {}
    for detail in existing:
        e164 = to_e164(str(detail.get("value") or ""), None)
        if e164 is None or e164 in current:
            plan.remove.append(str(detail["id"]))
        else:
            current[e164] = str(detail["id"])
    wanted = {e164 for _, e164 in desired.phones}
    plan.remove += [detail_id for e164, detail_id in current.items() if e164 not in wanted]
    plan.add = [(label, e164) for label, e164 in desired.phones if e164 not in current]
    return plan
