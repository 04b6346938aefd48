"""Insight cards (SPEC F1; aircall-api.md §4): the items a Jobber `ClientCard` result
gives, field by field."""

from __future__ import annotations

from typing import Any

import pytest

from config.integration import InsightCard
from domain.cards import (
    MAX_TEXT,
    TIMES,
    card_for,
    custom_card,
    custom_labels,
    default_card,
    field_value,
    short,
)

URI = "https://secure.getjobber.com/clients/123"


def client(**fields: Any) -> dict[str, Any]:
    """A `ClientCard` query result (jobber-api.md §5.2 field names); tests override what they read."""
    return {"name": "Jane Smith", "jobberWebUri": URI, **fields}


def title(text: str = "Jane Smith", link: str | None = URI) -> dict[str, Any]:
    return {"type": "title", "text": text, **({"link": link} if link else {})}


def line(label: str, text: str) -> dict[str, Any]:
    return {"type": "shortText", "label": label, "text": text}


# ---- short: one readable line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("Jane", MAX_TEXT, "Jane", id="short-text-unchanged"),
        pytest.param("", MAX_TEXT, "", id="empty-stays-empty"),
        pytest.param("  Jane \n\t Smith  ", MAX_TEXT, "Jane Smith", id="whitespace-and-newlines-collapse"),
        pytest.param("x" * 40, 40, "x" * 40, id="exactly-the-limit-is-not-cut"),
        pytest.param("x" * 41, 40, "x" * 39 + "…", id="one-over-the-limit-is-cut-with-an-ellipsis"),
        pytest.param("abcd efgh", 6, "abcd…", id="no-space-before-the-ellipsis"),
        pytest.param(
            "Zoë Ångström-Øre 🌲 Landscaping", 12, "Zoë Ångströ…", id="unicode-counted-in-characters"
        ),
    ],
)
def test_short_keeps_a_line_within_its_limit(text: str, limit: int, expected: str) -> None:
    got = short(text, limit)
    assert got == expected
    assert len(got) <= limit


# ---- field_value: each SPEC F1 field from a ClientCard result ----------------------------------------------


@pytest.mark.parametrize(
    ("field", "fields", "expected"),
    [
        # email / phone: the primary one, else the first; an empty primary is no value
        pytest.param(
            "email",
            {"emails": [{"address": "a@x.com"}, {"address": "b@x.com", "primary": True}]},
            "b@x.com",
            id="email-primary-wins-over-first",
        ),
        pytest.param(
            "email",
            {"emails": [{"address": "a@x.com"}, {"address": "b@x.com"}]},
            "a@x.com",
            id="email-first-when-none-primary",
        ),
        pytest.param("email", {"emails": []}, None, id="email-none-when-empty-list"),
        pytest.param("email", {"emails": None}, None, id="email-none-when-null"),
        pytest.param("email", {}, None, id="email-none-when-missing"),
        pytest.param(
            "email",
            {"emails": [{"address": "", "primary": True}, {"address": "b@x.com"}]},
            None,
            id="email-empty-primary-is-none",
        ),
        pytest.param(
            "phone",
            {"phones": [{"number": "(415) 555-0100"}, {"number": "555-0199", "primary": True}]},
            "555-0199",
            id="phone-primary-as-entered",
        ),
        pytest.param("phone", {"phones": []}, None, id="phone-none-when-empty"),
        # company
        pytest.param("company_name", {"companyName": "Smith Landscaping"}, "Smith Landscaping", id="company"),
        pytest.param("company_name", {"companyName": ""}, None, id="company-empty-is-none"),
        pytest.param("company_name", {"companyName": None}, None, id="company-null-is-none"),
        # billing address: the parts present, in order
        pytest.param(
            "billing_address",
            {
                "billingAddress": {
                    "street1": "1 Main St",
                    "street2": "Unit 4",
                    "city": "Springfield",
                    "province": "IL",
                    "postalCode": "62701",
                    "country": "US",
                }
            },
            "1 Main St, Springfield, IL, 62701",
            id="address-street1-city-province-postcode",
        ),
        pytest.param(
            "billing_address",
            {"billingAddress": {"street1": "1 Main St", "city": "", "province": "IL"}},
            "1 Main St, IL",
            id="address-skips-empty-parts",
        ),
        pytest.param("billing_address", {"billingAddress": {}}, None, id="address-empty-object-is-none"),
        pytest.param("billing_address", {"billingAddress": None}, None, id="address-null-is-none"),
        pytest.param(
            "billing_address",
            {"billingAddress": {"city": "Montréal", "province": "QC"}},
            "Montréal, QC",
            id="address-unicode-city",
        ),
        # tags: labels joined, blank labels skipped
        pytest.param(
            "tags",
            {
                "tags": {
                    "nodes": [
                        {"id": "1", "label": "VIP"},
                        {"id": "2", "label": ""},
                        {"id": "3"},
                        {"id": "4", "label": "Net 30"},
                    ]
                }
            },
            "VIP, Net 30",
            id="tags-joined-blank-and-missing-labels-skipped",
        ),
        pytest.param("tags", {"tags": {"nodes": []}}, None, id="tags-none-when-no-nodes"),
        pytest.param("tags", {"tags": None}, None, id="tags-none-when-null"),
        # balance: a dollar amount, two decimals, thousands separated
        pytest.param("balance", {"balance": 1234.5}, "$1,234.50", id="balance-float"),
        pytest.param("balance", {"balance": 420}, "$420.00", id="balance-int"),
        pytest.param("balance", {"balance": 0.0}, "$0.00", id="balance-zero-is-shown"),
        pytest.param("balance", {"balance": None}, None, id="balance-null-is-none"),
        pytest.param("balance", {"balance": "420"}, None, id="balance-string-is-not-a-number"),
        pytest.param("balance", {"balance": -500}, "-$500.00", id="balance-credit-sign-before-the-dollar"),
        pytest.param("balance", {"balance": True}, None, id="balance-bool-is-not-a-number"),
        # lead status: Lead or Client (SPEC F1)
        pytest.param("lead_status", {"isLead": True}, "Lead", id="status-lead"),
        pytest.param("lead_status", {"isLead": False}, "Client", id="status-client"),
        pytest.param("lead_status", {}, None, id="status-unknown-is-none"),
        # client since: month and year of createdAt, in the account's own offset
        pytest.param("client_since", {"createdAt": "2023-04-05T10:00:00Z"}, "Apr 2023", id="since-utc"),
        pytest.param(
            "client_since",
            {"createdAt": "2023-12-31T23:30:00-05:00"},
            "Dec 2023",
            id="since-local-offset-not-shifted-to-utc",
        ),
        pytest.param("client_since", {"createdAt": None}, None, id="since-null-is-none"),
        pytest.param("client_since", {"createdAt": "last spring"}, None, id="since-not-a-date-is-left-out"),
        # open requests: a count of the open statuses, case-insensitive; zero is a value
        pytest.param(
            "open_requests",
            {
                "requests": {
                    "nodes": [
                        {"requestStatus": "new"},
                        {"requestStatus": "OVERDUE"},
                        {"requestStatus": "upcoming"},
                        {"requestStatus": "archived"},
                        {"requestStatus": "converted"},
                        {},
                    ]
                }
            },
            "3",
            id="open-requests-counts-open-statuses-only",
        ),
        pytest.param("open_requests", {"requests": {"nodes": []}}, "0", id="open-requests-zero"),
        pytest.param("open_requests", {}, "0", id="open-requests-missing-is-zero"),
        # unknown
        pytest.param("favourite_colour", {"favourite_colour": "blue"}, None, id="unknown-field-is-none"),
    ],
)
def test_field_value(field: str, fields: dict[str, Any], expected: str | None) -> None:
    assert field_value(client(**fields), field) == expected


# ---- custom fields (custom:<label>) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("custom_fields", "field", "expected_items"),
    [
        pytest.param(
            [{"label": "Gate code", "valueText": "4521#"}],
            "custom:Gate code",
            [line("Gate code", "4521#")],
            id="text",
        ),
        pytest.param(
            [{"label": "Gate code", "valueText": "4521#"}],
            "custom:gate CODE",
            [line("gate CODE", "4521#")],
            id="label-matched-case-insensitively-shown-as-configured",
        ),
        pytest.param(
            [{"label": " Gate code ", "valueText": "4521#"}],
            "custom:Gate code",
            [line("Gate code", "4521#")],
            id="label-matched-ignoring-surrounding-spaces",
        ),
        pytest.param(
            [{"label": "Gate code", "valueText": ""}], "custom:Gate code", [], id="empty-text-omitted"
        ),
        pytest.param(
            [{"label": "Lot size", "valueNumeric": 12.5, "unit": "acres"}],
            "custom:Lot size",
            [line("Lot size", "12.5 acres")],
            id="numeric-with-unit",
        ),
        pytest.param(
            [{"label": "Dogs", "valueNumeric": 2.0, "unit": None}],
            "custom:Dogs",
            [line("Dogs", "2")],
            id="numeric-whole-without-unit",
        ),
        pytest.param(
            [{"label": "Dogs", "valueNumeric": 0, "unit": ""}],
            "custom:Dogs",
            [line("Dogs", "0")],
            id="numeric-zero-is-shown",
        ),
        pytest.param(
            [{"label": "Site", "valueLink": {"text": "Photos", "url": "https://x.test/p"}}],
            "custom:Site",
            [line("Site", "Photos")],
            id="link-text-preferred",
        ),
        pytest.param(
            [{"label": "Site", "valueLink": {"text": "", "url": "https://x.test/p"}}],
            "custom:Site",
            [line("Site", "https://x.test/p")],
            id="link-url-when-no-text",
        ),
        pytest.param([{"label": "Site", "valueLink": None}], "custom:Site", [], id="link-null-omitted"),
        pytest.param(
            [{"label": "Tier", "valueDropdown": "Gold"}], "custom:Tier", [line("Tier", "Gold")], id="dropdown"
        ),
        pytest.param(
            [{"label": "Tax exempt", "valueTrueFalse": True}],
            "custom:Tax exempt",
            [line("Tax exempt", "Yes")],
            id="true-is-yes",
        ),
        pytest.param(
            [{"label": "Tax exempt", "valueTrueFalse": False}],
            "custom:Tax exempt",
            [line("Tax exempt", "No")],
            id="false-is-no-and-shown",
        ),
        pytest.param(
            [{"label": "Lawn area", "valueArea": {"length": 40.0, "width": 25.0}, "unit": "ft"}],
            "custom:Lawn area",
            [line("Lawn area", f"40 {TIMES} 25 ft")],
            id="area-length-by-width-with-unit",
        ),
        pytest.param(
            [{"label": "Lot", "valueArea": {"length": 1250.5, "width": 12.25}, "unit": "m"}],
            "custom:Lot",
            [line("Lot", f"1,250.5 {TIMES} 12.25 m")],
            id="area-decimals-and-thousands",
        ),
        pytest.param(
            [{"label": "Lot", "valueArea": {"length": 0.0, "width": 0.0}, "unit": ""}],
            "custom:Lot",
            [line("Lot", f"0 {TIMES} 0")],
            id="area-zero-without-unit",
        ),
        pytest.param(
            [{"label": "Lot", "valueArea": None, "unit": "ft"}], "custom:Lot", [], id="area-null-omitted"
        ),
        pytest.param(
            [{"label": "Lot", "valueArea": {"length": 3.0}, "unit": "ft"}],
            "custom:Lot",
            [],
            id="area-half-missing-omitted",
        ),
        pytest.param(
            [{"label": "Other", "valueText": "x"}], "custom:Gate code", [], id="absent-label-omitted"
        ),
        pytest.param(None, "custom:Gate code", [], id="no-custom-fields-at-all"),
        pytest.param(
            [{"label": "Notes", "valueText": "Ring twice then walk round the back to the blue shed"}],
            "custom:Notes",
            [line("Notes", "Ring twice then walk round the back to…")],
            id="long-value-cut-to-the-line-limit",
        ),
        pytest.param(
            [{"label": "Surnom", "valueText": "L'Élan 🦌"}],
            "custom:Surnom",
            [line("Surnom", "L'Élan 🦌")],
            id="unicode-value",
        ),
    ],
)
def test_custom_fields_on_a_custom_card(
    custom_fields: list[dict[str, Any]] | None, field: str, expected_items: list[dict[str, Any]]
) -> None:
    card = InsightCard(custom=True, fields=[field])
    assert custom_card(client(customFields=custom_fields), card) == [title(), *expected_items]


# ---- whole cards -------------------------------------------------------------------------------------------

FULL = client(
    emails=[{"address": "jane@smith.test", "primary": True}],
    phones=[{"number": "(415) 555-0100", "primary": True}],
    companyName="Smith Landscaping",
    balance=420.0,
    isLead=False,
    createdAt="2021-06-01T12:00:00Z",
    tags={"nodes": [{"label": "VIP"}]},
    requests={"nodes": [{"requestStatus": "new"}]},
    customFields=[{"label": "Gate code", "valueText": "4521#"}],
)


@pytest.mark.parametrize(
    ("client_doc", "card", "expected"),
    [
        pytest.param(
            FULL,
            InsightCard(),
            [title(), line("Email", "jane@smith.test"), line("Company", "Smith Landscaping")],
            id="default-card-title-email-company",
        ),
        pytest.param(client(), InsightCard(), [title()], id="default-card-omits-empty-email-and-company"),
        pytest.param(
            FULL,
            InsightCard(custom=True, fields=[]),
            [title(), line("Email", "jane@smith.test"), line("Company", "Smith Landscaping")],
            id="custom-without-fields-falls-back-to-default",
        ),
        pytest.param(
            FULL,
            InsightCard(custom=False, fields=["balance"]),
            [title(), line("Email", "jane@smith.test"), line("Company", "Smith Landscaping")],
            id="fields-ignored-unless-custom",
        ),
        pytest.param(
            FULL,
            InsightCard(
                custom=True,
                fields=["balance", "lead_status", "custom:Gate code", "open_requests", "client_since"],
            ),
            [
                title(),
                line("Balance", "$420.00"),
                line("Status", "Client"),
                line("Gate code", "4521#"),
                line("Open requests", "1"),
                line("Client since", "Jun 2021"),
            ],
            id="custom-five-fields-in-chosen-order-with-spec-labels",
        ),
        pytest.param(
            FULL,
            InsightCard(custom=True, fields=["phone", "tags"]),
            [title(), line("Phone", "(415) 555-0100"), line("Tags", "VIP")],
            id="custom-phone-and-tags",
        ),
        pytest.param(
            client(),
            InsightCard(custom=True, fields=["email", "billing_address", "tags", "open_requests"]),
            [title(), line("Open requests", "0")],
            id="custom-empty-fields-omitted",
        ),
        pytest.param(
            client(name="", jobberWebUri=""),
            InsightCard(),
            [title("Jobber client", None)],
            id="nameless-client-has-a-generic-title-without-link",
        ),
        pytest.param(
            client(name=None, jobberWebUri=None),
            InsightCard(custom=True, fields=["email"]),
            [title("Jobber client", None)],
            id="null-name-and-uri",
        ),
        pytest.param(
            client(name="Á" * 70), InsightCard(), [title("Á" * 59 + "…")], id="title-cut-at-60-characters"
        ),
    ],
)
def test_card_for(client_doc: dict[str, Any], card: InsightCard, expected: list[dict[str, Any]]) -> None:
    got = card_for(client_doc, card)
    assert got == expected
    assert all(len(item["text"]) <= MAX_TEXT for item in got if item["type"] == "shortText")


@pytest.mark.parametrize(
    ("name", "uri", "email", "company", "expected"),
    [
        pytest.param(
            "Jane Smith",
            URI,
            "jane@smith.test",
            "",
            [title(), line("Email", "jane@smith.test")],
            id="company-omitted-when-empty",
        ),
        pytest.param(
            "Jane Smith",
            URI,
            "",
            "Smith Co",
            [title(), line("Company", "Smith Co")],
            id="email-omitted-when-empty",
        ),
        pytest.param("Jane Smith", "", "", "", [title(link=None)], id="no-link-without-web-uri"),
        pytest.param("", URI, "", "", [title("Jobber client")], id="generic-title-keeps-its-link"),
    ],
)
def test_default_card(name: str, uri: str, email: str, company: str, expected: list[dict[str, Any]]) -> None:
    assert default_card(name, uri, email, company) == expected


@pytest.mark.parametrize(
    ("custom_fields", "expected"),
    [
        pytest.param(None, [], id="none"),
        pytest.param([], [], id="empty"),
        pytest.param(
            [{"label": "zeta"}, {"label": "Alpha"}, {"label": "beta"}],
            ["Alpha", "beta", "zeta"],
            id="sorted-case-insensitively",
        ),
        pytest.param(
            [{"label": " Gate code "}, {"label": "Gate code"}], ["Gate code"], id="trimmed-and-deduplicated"
        ),
        pytest.param([{"label": ""}, {"label": "   "}, {"label": None}, {}], [], id="blank-labels-dropped"),
        pytest.param([{"label": "Été"}, {"label": "avril"}], ["avril", "Été"], id="unicode-labels"),
    ],
)
def test_custom_labels(custom_fields: list[dict[str, Any]] | None, expected: list[str]) -> None:
    assert custom_labels(client(customFields=custom_fields)) == expected
