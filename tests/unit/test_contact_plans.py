"""Contact sync (SPEC F8; aircall-api.md §5): the Aircall contact a Jobber client should be, and
the phone-detail changes that get an existing contact there."""

from __future__ import annotations

from typing import Any

import pytest

from domain.contacts import MAX_PHONES, DesiredContact, PhonePlan, desired_contact, phone_plan


def jobber_client(*phones: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A Jobber client as the sync query reads it (jobber-api.md §5.2)."""
    base = {
        "id": "Z2lkOi8vSm9iYmVyL0NsaWVudC85ODc2NQ==",
        "firstName": "Jane",
        "lastName": "Smith",
        "companyName": "",
        "name": "Jane Smith",
        "isArchived": False,
    }
    return {**base, "phones": list(phones), **fields}


def phone(
    number: str | None = None, normalized: str | None = None, description: str | None = "Main"
) -> dict[str, Any]:
    return {"number": number, "normalizedPhoneNumber": normalized, "description": description}


def contact(
    *phones: tuple[str, str], first: str = "Jane", last: str = "Smith", company: str = ""
) -> DesiredContact:
    return DesiredContact(first_name=first, last_name=last, company_name=company, phones=tuple(phones))


# ---- desired_contact ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "region", "expected"),
    [
        # no contact at all
        pytest.param(None, "US", None, id="client-gone"),
        pytest.param({}, "US", None, id="empty-client"),
        pytest.param(
            jobber_client(phone(normalized="+14155550100"), isArchived=True), "US", None, id="archived"
        ),
        pytest.param(jobber_client(), "US", None, id="no-phones"),
        pytest.param(jobber_client(phones=None), "US", None, id="phones-null"),
        pytest.param(
            jobber_client(phone("not a number"), phone("anonymous"), phone("12")),
            "US",
            None,
            id="no-usable-phone",
        ),
        # names
        pytest.param(
            jobber_client(phone(normalized="+14155550100"), firstName="  Jane ", lastName=" Smith  "),
            "US",
            contact(("Main", "+14155550100")),
            id="names-trimmed",
        ),
        pytest.param(
            jobber_client(
                phone(normalized="+14155550100"),
                firstName="",
                lastName="",
                companyName="Smith Landscaping",
                name="Smith Landscaping",
            ),
            "US",
            contact(
                ("Main", "+14155550100"), first="", last="Smith Landscaping", company="Smith Landscaping"
            ),
            id="company-client-named-by-its-company",
        ),
        pytest.param(
            jobber_client(
                phone(normalized="+14155550100"),
                firstName=None,
                lastName=None,
                companyName=None,
                name=" Acme Trees ",
            ),
            "US",
            contact(("Main", "+14155550100"), first="", last="Acme Trees"),
            id="no-names-falls-back-to-name",
        ),
        pytest.param(
            jobber_client(
                phone(normalized="+14155550100"), firstName="Jane", lastName="", companyName="Smith Co"
            ),
            "US",
            contact(("Main", "+14155550100"), last="", company="Smith Co"),
            id="first-name-only-keeps-company",
        ),
        pytest.param(
            jobber_client(phone(normalized="+33612345678"), firstName="Zoë", lastName="Ñúñez-Łukasz"),
            "FR",
            contact(("Main", "+33612345678"), first="Zoë", last="Ñúñez-Łukasz"),
            id="unicode-names",
        ),
        # phones: E.164, labelled, deduplicated, in the client's order
        pytest.param(
            jobber_client(phone("(415) 555-0100", None)),
            "US",
            contact(("Main", "+14155550100")),
            id="national-number-parsed-in-default-region",
        ),
        pytest.param(
            jobber_client(phone("06 12 34 56 78", None, "MOBILE")),
            "FR",
            contact(("Mobile", "+33612345678")),
            id="region-is-the-account-default",
        ),
        pytest.param(
            jobber_client(phone("garbage", "+14155550100")),
            "US",
            contact(("Main", "+14155550100")),
            id="normalized-number-preferred-over-as-entered",
        ),
        pytest.param(
            jobber_client(
                phone(normalized="+14155550100", description="mobile"),
                phone(normalized="+14155550101", description="Work"),
                phone(normalized="+14155550102", description="Cabin"),
                phone(normalized="+14155550103", description=None),
                phone(normalized="+14155550104", description=""),
            ),
            "US",
            contact(
                ("Mobile", "+14155550100"),
                ("Work", "+14155550101"),
                ("Cabin", "+14155550102"),
                ("Main", "+14155550103"),
                ("Main", "+14155550104"),
            ),
            id="labels-known-ones-titled-custom-kept-missing-is-main",
        ),
        pytest.param(
            jobber_client(
                phone(normalized="+14155550100", description="MAIN"),
                phone("+1 415-555-0100", None, "MOBILE"),
                phone("415.555.0100", None, "WORK"),
            ),
            "US",
            contact(("Main", "+14155550100")),
            id="same-number-in-three-formats-once-first-label-wins",
        ),
        pytest.param(
            jobber_client(phone("bad"), phone(normalized="+14155550100")),
            "US",
            contact(("Main", "+14155550100")),
            id="unusable-phone-skipped-usable-kept",
        ),
    ],
)
def test_desired_contact(client: dict[str, Any] | None, region: str, expected: DesiredContact | None) -> None:
    assert desired_contact(client, region) == expected


def test_desired_contact_keeps_at_most_twenty_numbers_the_first_ones() -> None:
    phones = [phone(normalized=f"+1415555{n:04d}") for n in range(MAX_PHONES + 5)]
    desired = desired_contact(jobber_client(*phones))
    assert desired is not None
    assert MAX_PHONES == 20
    assert [e164 for _, e164 in desired.phones] == [f"+1415555{n:04d}" for n in range(20)]


BASE = contact(("Main", "+14155550100"), ("Mobile", "+14155550101"), company="Smith Co")


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(
            contact(("Main", "+14155550100"), ("Mobile", "+14155550101"), first="Janet", company="Smith Co"),
            id="first-name",
        ),
        pytest.param(
            contact(("Main", "+14155550100"), ("Mobile", "+14155550101"), last="Smyth", company="Smith Co"),
            id="last-name",
        ),
        pytest.param(contact(("Main", "+14155550100"), ("Mobile", "+14155550101")), id="company"),
        pytest.param(
            contact(("Main", "+14155550100"), ("Work", "+14155550101"), company="Smith Co"), id="a-label"
        ),
        pytest.param(contact(("Main", "+14155550100"), company="Smith Co"), id="a-number-removed"),
        pytest.param(
            contact(("Mobile", "+14155550101"), ("Main", "+14155550100"), company="Smith Co"),
            id="phone-order",
        ),
    ],
)
def test_the_digest_changes_with_anything_the_contact_shows(changed: DesiredContact) -> None:
    same = contact(("Main", "+14155550100"), ("Mobile", "+14155550101"), company="Smith Co")
    assert BASE.digest() == same.digest()
    assert len(BASE.digest()) == 16
    assert changed.digest() != BASE.digest()


# ---- phone_plan --------------------------------------------------------------------------------------------


def detail(detail_id: int | str, value: Any, label: str = "Main") -> dict[str, Any]:
    """An Aircall contact's `phone_numbers` entry."""
    return {"id": detail_id, "label": label, "value": value}


@pytest.mark.parametrize(
    ("desired", "existing", "expected"),
    [
        pytest.param(
            contact(("Main", "+14155550100"), ("Mobile", "+14155550101")),
            [],
            PhonePlan(add=[("Main", "+14155550100"), ("Mobile", "+14155550101")]),
            id="new-contact-adds-all-in-order",
        ),
        pytest.param(
            contact(("Main", "+14155550100")), [detail(11, "+14155550100")], PhonePlan(), id="already-right"
        ),
        pytest.param(
            contact(("Main", "+14155550100")),
            [detail(11, "+1 415-555-0100")],
            PhonePlan(),
            id="display-format-is-the-same-number",
        ),
        pytest.param(
            contact(("Main", "+14155550100")),
            [detail(11, "(415) 555-0100")],
            PhonePlan(),
            id="us-national-format-read-as-us",
        ),
        pytest.param(
            contact(("Mobile", "+14155550100")),
            [detail(11, "+14155550100", "Work")],
            PhonePlan(),
            id="a-label-change-alone-changes-nothing",
        ),
        pytest.param(
            contact(("Main", "+14155550100")),
            [detail(11, "+14155550100"), detail(12, "+14155550199")],
            PhonePlan(remove=["12"]),
            id="number-gone-from-jobber-removed",
        ),
        pytest.param(
            contact(("Main", "+14155550199")),
            [detail(11, "+14155550100")],
            PhonePlan(add=[("Main", "+14155550199")], remove=["11"]),
            id="number-replaced",
        ),
        pytest.param(
            contact(("Main", "+14155550100")),
            [detail(11, "+14155550100"), detail(12, "+1 415-555-0100")],
            PhonePlan(remove=["12"]),
            id="duplicate-on-the-contact-removed-first-kept",
        ),
        pytest.param(
            contact(("Main", "+14155550100")),
            [detail(11, "not a number"), detail(12, None), detail(13, "")],
            PhonePlan(add=[("Main", "+14155550100")], remove=["11", "12", "13"]),
            id="unparseable-details-removed",
        ),
        pytest.param(
            contact(("Main", "+33612345678")),
            [detail("p-7", "+33 6 12 34 56 78")],
            PhonePlan(),
            id="international-display-format-and-string-id",
        ),
        pytest.param(
            contact(("Main", "+14155550100"), ("Work", "+14155550101"), ("Home", "+14155550102")),
            [detail(21, "+14155550102"), detail(22, "+14155550100")],
            PhonePlan(add=[("Work", "+14155550101")]),
            id="only-the-missing-one-added",
        ),
    ],
)
def test_phone_plan(desired: DesiredContact, existing: list[dict[str, Any]], expected: PhonePlan) -> None:
    assert phone_plan(desired, existing) == expected


@pytest.mark.parametrize(
    "existing",
    [
        pytest.param([], id="from-nothing"),
        pytest.param(
            [detail(1, "+14155550100"), detail(2, "+14155550100"), detail(3, "x"), detail(4, "+14155550177")],
            id="from-a-messy-contact",
        ),
    ],
)
def test_applying_a_plan_gives_exactly_the_desired_numbers_and_a_second_plan_is_empty(
    existing: list[dict[str, Any]],
) -> None:
    desired = contact(("Main", "+14155550100"), ("Mobile", "+14155550101"))
    plan = phone_plan(desired, existing)
    after = [d for d in existing if str(d["id"]) not in plan.remove]
    after += [detail(f"new-{i}", e164, label) for i, (label, e164) in enumerate(plan.add)]
    assert sorted(d["value"] for d in after) == ["+14155550100", "+14155550101"]
    assert phone_plan(desired, after) == PhonePlan()
