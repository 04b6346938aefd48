"""`GET /`: a server-rendered page for people watching a demo — clients with their notes, requests (and their
notes), tasks and tags, newest activity first. Refreshes itself every 2 s."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

from .runtime import Sandbox
from .schema import serialize_datetime
from .state import Account, Client, Note, Store

MAX_CLIENTS = 40

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#f6f7f9;color:#1d2733}
h1{font-size:1.3rem} h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.client{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:.7rem 1rem;margin:.6rem 0}
.meta{color:#5b6775;font-size:.85rem}
.tag{background:#e6f0ff;border-radius:4px;padding:0 .35rem;margin-right:.25rem;font-size:.8rem}
.note{white-space:pre-wrap;background:#fafbfc;border-left:3px solid #7aa7e0;padding:.35rem .6rem}
.req{border-left:3px solid #e0a84a;padding-left:.6rem;margin:.4rem 0}
.task{border-left:3px solid #5cb85c;padding-left:.6rem;margin:.4rem 0} .archived{opacity:.6}
"""


def _e(value: object) -> str:
    return escape(str(value)) if value is not None else ""


def _when(value: object) -> str:
    return _e(serialize_datetime(value)) if value is not None else "unscheduled"


def _note(note: Note) -> str:
    who = "app" if note.created_by[0] == "Application" else note.created_by[0].lower()
    edited = f" · edited {_e(serialize_datetime(note.last_edited_at))}" if note.last_edited_at else ""
    files = "".join(f'<div class="meta">📎 {_e(a["url"])}</div>' for a in note.attachments)
    return (
        f'<div class="note"><span class="meta">{_e(serialize_datetime(note.created_at))} by {who}{edited}'
        f"{' · pinned' if note.pinned else ''}</span>\n{_e(note.message)}{files}</div>"
    )


def _client(store: Store, account: Account, client: Client) -> str:
    phones = ", ".join(
        f"{_e(p.number)}" + (f" ({_e(store.contacts[p.contact_id].name)})" if p.contact_id else "")
        for p in client.all_phones()
    )
    tags = "".join(f'<span class="tag">{_e(t.label)}</span>' for t in client.tags)
    notes = "".join(_note(n) for n in sorted(client.notes, key=lambda n: n.created_at, reverse=True)[:5])
    reqs = ""
    for rid in reversed(client.request_ids):
        r = store.requests[rid]
        reqs += (
            f'<div class="req"><b>Request:</b> {_e(r.title)} <span class="meta">[{_e(r.request_status)}] '
            f"{_e(serialize_datetime(r.created_at))}</span>"
            + "".join(_note(n) for n in reversed(r.notes))
            + "</div>"
        )
    tasks = "".join(
        f'<div class="task"><b>Task:</b> {_e(t.title)} <span class="meta">{_when(t.start_at)}'
        f'</span><div class="meta">{_e(t.instructions)}</div></div>'
        for t in reversed(account.tasks)
        if t.client_id == client.id
    )
    flags = " · lead" if client.is_lead else ""
    flags += " · archived" if client.is_archived else ""
    return (
        f'<div class="client{" archived" if client.is_archived else ""}"><b>{_e(client.name)}</b> {tags}'
        f'<div class="meta">{phones or "no phone"} · updated {_when(client.updated_at)}{flags}'
        f"</div>{notes}{reqs}{tasks}</div>"
    )


async def home(request: Request) -> HTMLResponse:
    sandbox: Sandbox = request.app.state.jobber
    store = sandbox.store
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='2'>"
        f"<title>Jobber sandbox</title><style>{CSS}</style></head><body><h1>Jobber sandbox</h1>"
        "<p class='meta'><a href='/marketplace'>App Marketplace</a>"
        " (connect, manage or disconnect the app)</p>"
    ]
    with store.lock:
        if not store.accounts:
            parts.append("<p>No accounts yet. POST /_sandbox/accounts or /_sandbox/seed.</p>")
        for account in store.accounts.values():
            connected = "connected" if store.account_connected(account.id) else "not connected"
            clients = sorted(account.clients.values(), key=store.activity_at, reverse=True)
            parts.append(
                f"<h2>{_e(account.name)} <span class='meta'>{_e(account.id)} · {connected} · "
                f"{len(clients)} clients · {len(account.tasks)} tasks</span></h2>"
            )
            parts += [_client(store, account, c) for c in clients[:MAX_CLIENTS]]
    parts.append("</body></html>")
    return HTMLResponse("".join(parts))
