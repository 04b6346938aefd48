"""The emulator's watch page (`GET /`): per company, insight cards per call (newest first) and the contact
list, server-rendered and refreshed every 2 s so a person can follow a demo."""

from __future__ import annotations

import time
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from sandbox.aircall.state import State

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#f6f7f9;color:#1d2433}
h1{font-size:1.4rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:2px solid #00b388}
.cards{display:flex;flex-wrap:wrap;gap:.8rem} .card{background:#fff;border-radius:8px;padding:.7rem 1rem;
box-shadow:0 1px 3px #0002;min-width:16rem;max-width:22rem} .card .t{font-weight:600;font-size:1.05rem}
.card .meta{color:#6b7385;font-size:.8rem;margin-bottom:.4rem} .lbl{color:#6b7385}
table{border-collapse:collapse;background:#fff} td,th{padding:.3rem .7rem;border-bottom:1px solid #e3e6ec;
text-align:left;font-size:.9rem} .muted{color:#6b7385}
"""


def _item(item: dict[str, Any]) -> str:
    text = escape(str(item.get("text") or item.get("user_id") or ""))
    if item.get("link"):
        text = f'<a href="{escape(str(item["link"]))}">{text}</a>'
    if item.get("type") == "title":
        return f'<div class="t">{text}</div>'
    return f'<div><span class="lbl">{escape(str(item.get("label", "")))}:</span> {text}</div>'


def _company_html(company: Any) -> str:
    cards = []
    for call_id, posted in company.insight_cards.items():
        call = company.calls.get(call_id, {})
        for card in posted:
            cards.append((card["posted_at"], call_id, call, card))
    cards.sort(key=lambda c: c[0], reverse=True)
    card_html = (
        "".join(
            f'<div class="card"><div class="meta">call {call_id} · {escape(str(call.get("raw_digits", "")))}'
            " · "
            f"{time.strftime('%H:%M:%S', time.localtime(at))}</div>"
            + "".join(_item(i) for i in card["contents"])
            + "</div>"
            for at, call_id, call, card in cards
        )
        or '<p class="muted">No insight cards yet.</p>'
    )
    rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            c["id"],
            escape(" ".join(x for x in (c.get("first_name"), c.get("last_name")) if x)),
            escape(c.get("company_name") or ""),
            escape(", ".join(p["value"] for p in c["phone_numbers"])),
            escape(", ".join(e["value"] for e in c["emails"])),
        )
        for c in sorted(company.contacts.values(), key=lambda c: c["id"])
    )
    contacts = (
        f"<table><tr><th>id</th><th>name</th><th>company</th><th>phones</th><th>emails</th></tr>{rows}</table>"
        if rows
        else '<p class="muted">No contacts yet.</p>'
    )
    return (
        f"<h2>{escape(company.name)} <span class='muted'>(company {company.id} · "
        f"{company.requests_total} API requests, {company.requests_limited} rate-limited)</span></h2>"
        f"<h3>Insight cards ({len(cards)})</h3><div class='cards'>{card_html}</div>"
        f"<h3>Contacts ({len(company.contacts)})</h3>{contacts}"
    )


async def page(request: Request) -> HTMLResponse:
    state: State = request.app.state.aircall
    with state.lock:
        body = "".join(_company_html(c) for c in state.companies.values()) or "<p>No companies yet.</p>"
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='2'>"
        f"<title>Aircall sandbox</title><style>{_STYLE}</style></head><body><h1>Aircall sandbox</h1>"
        f"{body}</body></html>"
    )
