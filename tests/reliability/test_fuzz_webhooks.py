"""SPEC §5 under fuzzing: whatever arrives on the two webhook routes, never a 5xx, nothing stored or enqueued
unless the answer says so, an unknown token's body never shipped to Redis, and the receiver keeps serving.

A real uvicorn ingest (started as the Procfile starts it) on a private Redis; requests are written byte by
byte on raw sockets, so bodies, headers, encodings and framing (content length, chunked with odd chunk
sizes, lying lengths) are all under the generator's control. Hypothesis draws the cases, in four scenarios
so that each kind of hostility gets its share of a short run: `make test` runs a short, derandomized profile
(the same cases every run, CI included); `make reliability` (RELIABILITY_SCALE=full) thousands, randomly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.integration import IntegrationSettings
from domain.envelope import AI_EVENTS, CALL_EVENTS, LIFECYCLE_EVENTS, MESSAGE_EVENTS
from domain.jobber_webhooks import ROUTED_TOPICS
from sandbox.fleet import SECRET, Fleet
from store.integrations import IntegrationStore, JobberAccount
from tests.support.accounting import RESULTS, Accounting, scale
from tests.support.queues import queued_count

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

LIMIT = 1024 * 1024  # MAX_WEBHOOK_BYTES, the default
JOBBER_SECRET = "fuzz-jobber-client-secret"
TOKEN, INACTIVE_TOKEN, ACCOUNT = "fuzz-live-token", "fuzz-inactive-token", "fuzz-jobber-account"
FULL = os.environ.get("RELIABILITY_SCALE") == "full"
EXAMPLES = scale(75, 1500)  # per scenario


@dataclass
class FuzzAccounting(Accounting):
    """accepted=0 (no worker runs: the figures are about refusals); a broken property fails the line too."""

    violations: int = 0

    @property
    def ok(self) -> bool:
        return super().ok and self.violations == 0


@dataclass
class Case:
    route: str
    body: bytes
    headers: list[tuple[bytes, bytes]]
    framing: tuple[Any, ...] = ("length",)
    tags: dict[str, str] = field(default_factory=dict)  # what was drawn, for the accounting


# ---- generators ---------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
odd_ids = st.one_of(
    st.integers(min_value=2**63, max_value=2**80),
    st.text(max_size=12),
    st.booleans(),
    st.floats(allow_nan=False),
    json_values,
)
KNOWN_EVENTS = sorted(
    CALL_EVENTS | MESSAGE_EVENTS | AI_EVENTS | LIFECYCLE_EVENTS | {"ai_voice_agent.summary"}
)
TOPICS = [*sorted(ROUTED_TOPICS), "INVOICE_CREATE", "MADE_UP"]
HAZARD = "__hazard__"
JSON = [(b"Content-Type", b"application/json")]


def pick(draw: st.DrawFn, tags: dict[str, str], name: str, weights: dict[str, int]) -> str:
    """A weighted choice, recorded in `tags`. The first (usual) choice also closes the list: Hypothesis
    favours the ends of a range, and the usual choice should stay the usual one."""
    first, *rest = weights
    choices = [first] * (weights[first] - 1) + [c for c in rest for _ in range(weights[c])] + [first]
    tags[name] = draw(st.sampled_from(choices))
    return tags[name]


def hazard_text(draw: st.DrawFn, kind: str) -> str:
    """JSON text put where a value goes: what parsers and serialisers disagree on."""
    if kind == "deep":
        depth = draw(st.sampled_from([200, 254, 255, 256, 300, 512, 1023, 1024, 1025, 3000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return opener * depth + "0" + closer * depth
    if kind == "huge":  # near the body limit, either side of it
        return '"' + "x" * (LIMIT - draw(st.integers(min_value=-64, max_value=600))) + '"'
    if kind == "nan":
        return draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]))
    if kind == "surrogate":
        return draw(st.sampled_from(['"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"\\ud83d\\ude00"']))
    if kind == "bignum":
        return draw(st.sampled_from(["1" * 30, "-" + "9" * 400, "1" * 5000, "0.1e-99999"]))
    if kind == "dupkey":  # the same key twice: parsers keep the last one
        return '1, "id": ' + json.dumps(draw(odd_ids))
    return json.dumps(draw(json_values))


HAZARDS = {"none": 3, "deep": 2, "huge": 1, "nan": 1, "surrogate": 1, "bignum": 1, "dupkey": 1, "value": 1}


def serialised(draw: st.DrawFn, tags: dict[str, str], doc: Any) -> bytes:
    """`doc` as UTF-8 JSON, its hazard placeholder replaced by one drawn hazard."""
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    hazard = pick(draw, tags, "hazard", HAZARDS) if json.dumps(HAZARD) in text else "none"
    text = text.replace(json.dumps(HAZARD), hazard_text(draw, hazard) if hazard != "none" else "0")
    return text.encode("utf-8", "surrogatepass")


def aircall_envelope(draw: st.DrawFn, tags: dict[str, str], token: str | None = None) -> bytes:
    data: Any = {
        "id": draw(st.integers(min_value=1, max_value=2**53)),
        "direction": "inbound",
        "number": {"id": 789, "digits": "+1 415-555-0199", "country": "US"},
        "raw_digits": draw(st.sampled_from(["+1 415-555-0100", "anonymous", "", "\u0661\u0662"])),
        "notes": "n" * draw(st.sampled_from([0, 3_000, 60_000])),
        "extra": HAZARD,
    }
    if token is None:
        kind = pick(draw, tags, "token", {"live": 3, "inactive": 1, "unknown": 2, "odd": 1})
        token = {"live": TOKEN, "inactive": INACTIVE_TOKEN, "unknown": "unknown-token"}.get(kind)
        if pick(draw, tags, "data", {"object": 4, "odd-id": 1, "odd-data": 1}) == "odd-id":
            data["id"] = draw(odd_ids)
        elif tags["data"] == "odd-data":
            data = draw(json_values)
    event_kind = pick(draw, tags, "event", {"known": 4, "voice-agent": 1, "unknown": 1, "odd": 1})
    doc: dict[str, Any] = {
        "resource": "call",
        "event": draw(
            {
                "known": st.sampled_from(KNOWN_EVENTS),
                "voice-agent": st.text(max_size=30).map("ai_voice_agent.".__add__),
                "unknown": st.text(max_size=30),
                "odd": json_values,
            }[event_kind]
        ),
        "timestamp": 1732622990,
        "token": token if token is not None else draw(st.one_of(st.text(max_size=40), json_values)),
        "data": data,
    }
    if pick(draw, tags, "fields", {"all": 5, "dropped": 1}) == "dropped":
        for key in draw(st.sets(st.sampled_from(sorted(doc)), min_size=1, max_size=2)):
            del doc[key]
    return serialised(draw, tags, doc)


def jobber_webhook(draw: st.DrawFn, tags: dict[str, str], valid: bool = False) -> bytes:
    event: dict[str, Any] = {
        "topic": draw(st.sampled_from(TOPICS)),
        "appId": "app",
        "accountId": ACCOUNT,
        "itemId": draw(st.text(max_size=20)),
        "occurredAt": "2026-01-01T00:00:00Z",
        "extra": HAZARD,
    }
    if valid:
        return json.dumps({"data": {"webHookEvent": event}}).replace(json.dumps(HAZARD), "0").encode()
    shape = pick(draw, tags, "shape", {"webhook": 4, "odd-fields": 2, "dropped": 1, "misplaced": 1})
    if shape == "odd-fields":
        for key in draw(st.sets(st.sampled_from(["topic", "accountId", "itemId", "occurredAt"]), min_size=1)):
            event[key] = draw(st.one_of(odd_ids, json_values))
    if shape == "dropped":
        for key in draw(st.sets(st.sampled_from(sorted(event)), min_size=1, max_size=2)):
            del event[key]
    if draw(st.booleans()):
        event["occuredAt"] = event.pop("occurredAt", None)  # older apps' spelling
    doc: Any = {"data": {"webHookEvent": event}}
    if shape == "misplaced":
        doc = draw(
            st.sampled_from([{"data": event}, {"data": [event]}, {"data": {"webHookEvent": [event]}}, event])
        )
    return serialised(draw, tags, doc)


def garbage(draw: st.DrawFn, tags: dict[str, str], route: str) -> bytes:
    kind = pick(draw, tags, "garbage", {"encoded": 3, "bytes": 1, "json": 1})
    if kind == "bytes":
        return draw(st.binary(max_size=512))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    text = (
        aircall_envelope(draw, {}, TOKEN) if route == "aircall" else jobber_webhook(draw, {}, True)
    ).decode("utf-8", "surrogatepass")
    encoding = pick(
        draw, tags, "encoding", {"utf-8": 1, "utf-8-sig": 1, "utf-16": 1, "utf-32": 1, "latin-1": 1}
    )
    body = text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")
    cut = draw(st.sampled_from([None, 1, 2, len(body) // 2, -1, -2]))
    return body[:cut] if cut is not None else body


def sign(body: bytes, secret: str = JOBBER_SECRET) -> bytes:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())


# Header values: mostly what HTTP allows (visible ASCII and obs-text), sometimes any byte but CR/LF.
header_values = st.one_of(
    st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
    ).map(lambda t: t.encode("latin-1")),
    st.binary(max_size=64).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)


def signatures(draw: st.DrawFn, tags: dict[str, str], body: bytes, usual: int = 1) -> list[bytes]:
    kind = pick(
        draw,
        tags,
        "signature",
        {
            "valid": usual,
            "other-body": 1,
            "wrong-secret": 1,
            "random": 1,
            "huge": 1,
            "non-ascii": 2,
            "several": 1,
            "none": 1,
        },
    )
    if kind == "random":
        return [draw(header_values)]
    if kind == "huge":
        return [b"A" * draw(st.integers(100, 16_000))]
    if kind == "non-ascii":
        return [
            draw(st.sampled_from(["é" * 44, "Zm9v\u00a0", "\u2603", "\udcff"])).encode(
                "utf-8", "surrogateescape"
            )
        ]
    return {
        "valid": [sign(body)],
        "other-body": [sign(body + b" ")],
        "wrong-secret": [sign(body, "not-it")],
        "several": [sign(body), b"x"],
        "none": [],
    }[kind]


def framing(draw: st.DrawFn, tags: dict[str, str], body: bytes) -> tuple[Any, ...]:
    kind = pick(draw, tags, "framing", {"chunked": 4, "length": 1, "lie": 3, "bare": 1, "both": 1})
    if kind == "chunked":
        sizes = draw(st.lists(st.integers(min_value=1, max_value=70_000), min_size=1, max_size=6))
        return ("chunked", sizes, draw(st.booleans()), draw(st.booleans()))
    if kind == "lie":
        return ("lie", draw(st.integers(min_value=-len(body), max_value=4096).filter(bool)))
    return (kind,)


CONTENT_TYPES = [
    b"application/json",
    b"application/json; charset=utf-16",
    b"text/plain",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=x",
    b"\xff\xfe",
    b"",
]
EXTRA_HEADERS = [b"X-Fuzz", b"Accept", b"Content-Encoding", b"X-Jobber-Hmac-SHA256", b"X-Forwarded-For"]


@st.composite
def aircall_envelopes(draw: st.DrawFn) -> Case:
    """Well-framed envelopes: live, inactive, unknown and odd tokens; odd events and data; hazards."""
    tags: dict[str, str] = {}
    return Case("aircall", aircall_envelope(draw, tags), JSON, tags=tags)


@st.composite
def jobber_webhooks(draw: st.DrawFn) -> Case:
    """Well-framed Jobber webhooks of every shape, mostly signed right, sometimes not."""
    tags: dict[str, str] = {}
    body = jobber_webhook(draw, tags)
    return Case(
        "jobber",
        body,
        JSON + [(b"X-Jobber-Hmac-SHA256", s) for s in signatures(draw, tags, body, 6)],
        tags=tags,
    )


@st.composite
def garbage_bodies(draw: st.DrawFn) -> Case:
    """Random bytes and JSON, other encodings, bodies cut short; Jobber ones signed, so they are parsed."""
    tags: dict[str, str] = {}
    route = pick(draw, tags, "route", {"aircall": 1, "jobber": 1})
    body = garbage(draw, tags, route)
    headers = [(b"Content-Type", draw(st.sampled_from(CONTENT_TYPES)))]
    return Case(
        route,
        body,
        headers + ([(b"X-Jobber-Hmac-SHA256", sign(body))] if route == "jobber" else []),
        tags=tags,
    )


@st.composite
def headers_and_framing(draw: st.DrawFn) -> Case:
    """Valid webhooks, sent oddly: chunked in odd sizes, lying lengths, odd and oversized headers."""
    tags: dict[str, str] = {}
    route = pick(draw, tags, "route", {"aircall": 1, "jobber": 1})
    body = aircall_envelope(draw, {}, TOKEN) if route == "aircall" else jobber_webhook(draw, {}, True)
    headers = [(b"Content-Type", draw(st.sampled_from(CONTENT_TYPES)))]
    if route == "jobber":
        headers += [(b"X-Jobber-Hmac-SHA256", s) for s in signatures(draw, tags, body, 4)]
    for _ in range(draw(st.sampled_from([1, 0, 2, 1]))):
        headers.append((draw(st.sampled_from(EXTRA_HEADERS)), draw(header_values)))
    return Case(route, body, headers, framing(draw, tags, body), tags)


SCENARIOS = {
    "aircall envelopes": aircall_envelopes(),
    "jobber webhooks": jobber_webhooks(),
    "garbage bodies": garbage_bodies(),
    "headers and framing": headers_and_framing(),
}


# ---- the wire -----------------------------------------------------------------------------------------


def request_bytes(case: Case, host: str) -> tuple[bytes, bool]:
    """The request as written on the socket, and whether to half-close after it (a lying length)."""
    head = [f"POST /webhooks/{case.route} HTTP/1.1".encode(), f"Host: {host}".encode(), b"Connection: close"]
    head += [name + b": " + value for name, value in case.headers]
    body, kind = case.body, case.framing[0]
    if kind == "length":
        head.append(b"Content-Length: %d" % len(body))
    elif kind == "lie":
        head.append(b"Content-Length: %d" % (len(body) + case.framing[1]))
    elif kind in ("chunked", "both"):
        if kind == "both":
            head.append(b"Content-Length: %d" % len(body))
        head.append(b"Transfer-Encoding: chunked")
        sizes, upper, ext = case.framing[1:] if kind == "chunked" else ([len(body) or 1], False, False)
        chunks, at, i = [], 0, 0
        while at < len(body):
            piece = body[at : at + sizes[i % len(sizes)]]
            size = (b"%X" if upper else b"%x") % len(piece)
            chunks.append(size + (b";fuzz=1" if ext else b"") + b"\r\n" + piece + b"\r\n")
            at, i = at + len(piece), i + 1
        body = b"".join(chunks) + b"0\r\n\r\n"
    return b"\r\n".join(head) + b"\r\n\r\n" + body, kind == "lie"


def send(port: int, case: Case) -> tuple[int | None, dict[str, Any] | None]:
    """(status, JSON answer) or (None, None) when the server closed without an answer."""
    data, half_close = request_bytes(case, f"127.0.0.1:{port}")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            case.tags["send"] = "cut short"  # the server answered early (413) and closed
        response = http.client.HTTPResponse(sock, method="POST")
        try:
            response.begin()
            payload = response.read()
        except (http.client.HTTPException, ConnectionError):
            return None, None
        finally:
            response.close()
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = None
    return response.status, answer if isinstance(answer, dict) else None


# ---- the property -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ingest():
    fleet = Fleet()
    fleet.env |= {"JOBBER_CLIENT_SECRET": JOBBER_SECRET, "MAX_WEBHOOK_BYTES": str(LIMIT)}
    try:
        r = redis.Redis.from_url(fleet.redis.url, decode_responses=True)
        store = IntegrationStore(r, SECRET)
        for token, active in ((TOKEN, True), (INACTIVE_TOKEN, False)):
            integration = store.create(
                aircall_api_id="a",
                aircall_token="t",
                aircall_auth="basic",
                aircall_company_id="1",
                settings=IntegrationSettings(numbers=[789]),
            )
            store.bind_webhook(integration.id, "w", token)
            store.set_jobber_tokens(integration.id, "access", "refresh")
            if active:
                store.connect_jobber_account(integration.id, JobberAccount(ACCOUNT, "Acme"))
        url = fleet.ingest()
        yield type("Ingest", (), {"url": url, "port": int(url.rsplit(":", 1)[1]), "r": r, "fleet": fleet})
    finally:
        fleet.stop()


def state(r: redis.Redis, when: str) -> tuple[int, int, int]:
    """(writes so far, messages queued, bytes Redis received): Redis counts every write in `dirty`.

    Redis counts this harness's own commands as received bytes too, and counting the queues scans the
    keyspace (more round trips as the run stores more events). So `before` reads INFO after the scan and
    `after` before it: between the two INFOs Redis received the exchange's bytes and one INFO command."""
    if when == "before":
        queued, info = queued_count(r), r.info()
    else:
        info, queued = r.info(), queued_count(r)
    return int(info["rdb_changes_since_last_save"]), queued, int(info["total_net_input_bytes"])


def check(
    case: Case,
    before: tuple[int, int, int],
    after: tuple[int, int, int],
    status: int | None,
    answer: dict[str, Any] | None,
) -> None:
    """The properties of one exchange, from what Redis saw before and after it."""
    (writes, queued, net_in), (writes_after, queued_after, net_in_after) = before, after
    outcome = (answer or {}).get("status")
    assert status is None or status < 500, f"{status} {answer}"
    if status is None or status >= 400:
        assert (writes_after, queued_after) == (writes, queued), "refused (or unanswered), yet Redis changed"
    if case.route == "aircall" and status == 401 and len(case.body) > 2_000:
        assert net_in_after - net_in < 1_000, "an unknown token's body reached Redis"
    if status == 200:
        assert outcome in ("enqueued", "duplicate", "ignored", "skipped"), answer
        assert queued_after - queued == (outcome == "enqueued"), (
            f"{outcome}: queued {queued} -> {queued_after}"
        )
        if outcome == "ignored":
            assert writes_after == writes, "ignored, yet Redis changed"


@pytest.mark.timeout(scale(300, 3600))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_fuzzed_webhooks_never_5xx_never_store_unless_accepted_and_keep_serving(ingest, scenario):
    statuses: Counter[str] = Counter()
    drawn: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not FULL,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=SCENARIOS[scenario])
    def webhook_property(case: Case) -> None:
        before = state(ingest.r, "before")
        status, answer = send(ingest.port, case)
        after = state(ingest.r, "after")
        statuses[f"{case.route}:{status}"] += 1
        drawn.update(f"{k}={v}" for k, v in case.tags.items())
        check(case, before, after, status, answer)

    failure: BaseException | None = None
    try:
        webhook_property()
    except BaseException as exc:
        failure = exc
        raise
    finally:
        # After everything: the same process still takes a valid webhook.
        call = {"event": "call.ended", "token": TOKEN, "data": {"id": 9_000_000_000 + len(RESULTS)}}
        status, answer = send(ingest.port, Case("aircall", json.dumps(call).encode(), JSON))
        alive = ingest.fleet.procs[0].poll() is None
        served = alive and status == 200 and (answer or {}).get("status") == "enqueued"
        # A valid webhook the receiver can no longer take after the run counts as lost.
        RESULTS.append(
            FuzzAccounting(
                f"fuzzed webhooks: {scenario}",
                accepted=0,
                lost=0 if served else 1,
                violations=int(failure is not None),
                extra={
                    "examples": sum(statuses.values()),
                    "violation": type(failure).__name__ if failure else None,
                    "statuses": dict(sorted(statuses.items())),
                    "drawn": dict(sorted(drawn.items())),
                },
            )
        )
    assert alive, "the ingest process died"
    assert served, f"a valid webhook after the run got {status} {answer}"
