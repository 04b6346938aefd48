"""Insight cards (SPEC F1; aircall-api.md §4): what the agent sees about the caller while the phone rings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeGuard

from config.integration import INSIGHT_FIELDS, InsightCard

# Display limits are UNCONFIRMED (aircall-api.md §4: ~25-40 characters read well); keep lines short.
MAX_TEXT = 40
TIMES = "\N{MULTIPLICATION SIGN}"  # between an area's length and width
OPEN_REQUEST_STATUSES = {"new", "assessment_completed", "overdue", "today", "unscheduled", "upcoming"}


def short(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _item(label: str, value: str | None) -> dict[str, Any] | None:
    return {"type": "shortText", "label": label, "text": short(value)} if value else None


def default_card(name: str, web_uri: str, email: str, company: str) -> list[dict[str, Any]]:
    """Title = client name linking to Jobber, then Email and Company when present."""
    items = [_title(name, web_uri), _item("Email", email), _item("Company", company)]
    return [i for i in items if i]


def custom_card(client: dict[str, Any], card: InsightCard) -> list[dict[str, Any]]:
    """Title, then up to five chosen fields (labels of SPEC F1), empty ones omitted. `client` is the Jobber
    `ClientCard` query result."""
    items = [_title(client.get("name") or "", client.get("jobberWebUri") or "")]
    for field in card.fields[:5]:
        if field.startswith("custom:"):
            label = field.removeprefix("custom:")
            item = _item(label, _custom_value(client, label))
        else:
            item = _item(INSIGHT_FIELDS[field], field_value(client, field))
        if item:
            items.append(item)
    return items


def card_for(client: dict[str, Any], card: InsightCard) -> list[dict[str, Any]]:
    """The card a client's `ClientCard` query result gives under these settings (the settings
    page preview)."""
    if card.custom and card.fields:
        return custom_card(client, card)
    return default_card(
        client.get("name") or "",
        client.get("jobberWebUri") or "",
        field_value(client, "email") or "",
        client.get("companyName") or "",
    )


def custom_labels(client: dict[str, Any]) -> list[str]:
    """The labels of the Jobber custom fields a client has: what `custom:<label>` can name."""
    labels = [str(f.get("label") or "").strip() for f in client.get("customFields") or []]
    return sorted({label for label in labels if label}, key=str.lower)


def _title(name: str, web_uri: str) -> dict[str, Any]:
    title: dict[str, Any] = {"type": "title", "text": short(name or "Jobber client", 60)}
    if web_uri:
        title["link"] = web_uri
    return title


def field_value(client: dict[str, Any], field: str) -> str | None:
    if field == "email":
        return _primary(client.get("emails") or [], "address")
    if field == "phone":
        return _primary(client.get("phones") or [], "number")
    if field == "company_name":
        return client.get("companyName") or None
    if field == "billing_address":
        a = client.get("billingAddress") or {}
        parts = [a.get("street1"), a.get("city"), a.get("province"), a.get("postalCode")]
        return ", ".join(p for p in parts if p) or None
    if field == "tags":
        return (
            ", ".join(t["label"] for t in ((client.get("tags") or {}).get("nodes") or []) if t.get("label"))
            or None
        )
    if field == "balance":
        balance = client.get("balance")
        if not isinstance(balance, int | float) or isinstance(balance, bool):
            return None
        return f"-${-balance:,.2f}" if balance < 0 else f"${balance:,.2f}"  # a credit reads -$500.00
    if field == "lead_status":
        lead = client.get("isLead")
        return None if lead is None else ("Lead" if lead else "Client")
    if field == "client_since":
        created = client.get("createdAt")
        try:
            return (
                datetime.fromisoformat(str(created).replace("Z", "+00:00")).strftime("%b %Y")
                if created
                else None
            )
        except ValueError:  # not a date: the line is left out rather than the card lost
            return None
    if field == "open_requests":
        nodes = (client.get("requests") or {}).get("nodes") or []
        return str(sum(1 for r in nodes if str(r.get("requestStatus", "")).lower() in OPEN_REQUEST_STATUSES))
    return None


def _primary(items: list[dict[str, Any]], key: str) -> str | None:
    chosen = next((i for i in items if i.get("primary")), items[0] if items else None)
    return (chosen or {}).get(key) or None


def _custom_value(client: dict[str, Any], label: str) -> str | None:
    for field in client.get("customFields") or []:
        if (field.get("label") or "").strip().lower() != label.strip().lower():
            continue
        if "valueText" in field:
            return field["valueText"] or None
        if "valueNumeric" in field:
            unit = field.get("unit") or ""
            return f"{field['valueNumeric']:g} {unit}".strip()
        if "valueLink" in field:
            link = field["valueLink"] or {}
            return link.get("text") or link.get("url")
        if "valueDropdown" in field:
            return field["valueDropdown"] or None
        if "valueTrueFalse" in field:
            return "Yes" if field["valueTrueFalse"] else "No"
        if "valueArea" in field:
            return _area(field["valueArea"] or {}, field.get("unit") or "")
    return None


def _area(value: dict[str, Any], unit: str) -> str | None:
    """An area custom field (`CustomFieldArea`: length and width, one unit), e.g. length 40 by width 25 in
    "ft" reads `40 {TIMES} 25 ft`."""
    length, width = value.get("length"), value.get("width")
    if not (_is_number(length) and _is_number(width)):
        return None
    return f"{_number(length)} {TIMES} {_number(width)} {unit}".strip()


def _is_number(x: object) -> TypeGuard[int | float]:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _number(x: float) -> str:
    """12.5 → "12.5", 1500.0 → "1,500", 40.0 → "40" (at most two decimals)."""
    return f"{x:,.2f}".rstrip("0").rstrip(".")
