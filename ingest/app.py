"""The ingest ASGI app: routes only. Run: `uvicorn ingest.app:app` (Procfile role `ingest`)."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from config import tracing
from config.logging import configure as configure_logging
from config.queues import FAIR_QUEUES, queue_depths
from config.settings import Settings, get_settings, settings_or_exit
from ingest import access, aircall, answers, jobber, metrics, oauth, settings_page, signin
from ingest.tracing import traced_webhook
from store.ledger import AsyncLedger, TenantLimits
from store.redis import async_client, sync_client
from store.replication import ReplicatedLedger

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await request.app.state.redis.ping()
    except Exception as exc:
        log.warning("ingest.readyz.redis_unreachable error=%s", type(exc).__name__)
        return JSONResponse({"status": "unavailable", "redis": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ready", "redis": "ok"})


async def metrics_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    token = settings.METRICS_TOKEN.get_secret_value() if settings.METRICS_TOKEN else None
    refused = access.refusal(request.headers.get("authorization"), token)
    if refused is not None:
        status, message = refused
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"error": f"/metrics: {message}"}, status_code=status, headers=headers)
    body = await run_in_threadpool(metrics.render, sync_client(settings.REDIS_URL))
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")


class Ingest:
    """The ASGI entry. Webhook POSTs go straight to their receivers, plain ASGI callables (the hot path:
    Starlette's router and middleware cost about a third of a webhook's CPU); everything else, lifespan
    included, goes to the Starlette app. An error in a receiver is answered 500 by uvicorn and logged. Every
    answer of a receiver is counted (ingest/answers.py).

    The proxies' X-Forwarded-For/-Proto (from FORWARDED_ALLOW_IPS) are applied here, to the pages only:
    uvicorn runs with `--no-proxy-headers` (Procfile), since its middleware would rewrite every webhook's
    scope too, and no receiver reads the client's address or scheme."""

    def __init__(self, site: Starlette, hot: dict[str, ASGIApp], trusted_proxies: str = "127.0.0.1,::1"):
        self.site = site
        self.hot = hot
        # uvicorn and Starlette spell the same ASGI types differently: one cast each way.
        proxied = ProxyHeadersMiddleware(cast(Any, site), trusted_hosts=trusted_proxies)
        self.pages = cast(ASGIApp, proxied)

    @property
    def state(self) -> State:
        return self.site.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            receiver = self.hot.get(scope["path"])
            if receiver is not None:
                scope["app"] = self.site  # the receivers read the ledger and Redis from its state
                if tracing.enabled():  # off: this check is all tracing costs a webhook
                    return await traced_webhook(receiver, scope, receive, send)
                return await receiver(scope, receive, send)
        await self.pages(scope, receive, send)


def create_app(settings: Settings | None = None) -> Ingest:
    """The ingest for `settings` (default: the environment's); outside sandbox mode a configuration that must
    not run (http PUBLIC_URL, no SECRET_KEY) raises ConfigError."""
    settings = settings or get_settings()
    settings.require_runnable()
    webhooks: dict[str, ASGIApp] = {
        "/webhooks/aircall": aircall.AircallReceiver(
            settings.MAX_WEBHOOK_BYTES, settings.WEBHOOK_RATE_WINDOW_S
        ),
        "/webhooks/jobber": jobber.JobberReceiver(
            settings.MAX_WEBHOOK_BYTES,
            settings.JOBBER_CLIENT_SECRET.get_secret_value() if settings.JOBBER_CLIENT_SECRET else None,
        ),
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # the ingest's own lines (uvicorn keeps its own handlers for its access/error logs)
        configure_logging()
        tracing.configure("ingest", settings.OTEL_EXPORTER_OTLP_ENDPOINT or "")
        app.state.redis = async_client(settings=settings)
        app.state.ledger = AsyncLedger(
            app.state.redis,
            settings.EVENT_TTL_DAYS,
            settings.FAIR_QUEUE_DEPTH,
            FAIR_QUEUES,
            depths=queue_depths(settings),
            limits=TenantLimits(
                settings.WEBHOOK_RATE_LIMIT, settings.WEBHOOK_RATE_WINDOW_S, settings.TENANT_PENDING_MAX_BYTES
            ),
            batch_max_bytes=settings.CLAIM_BATCH_MAX_BYTES,
        )
        if settings.REDIS_WAIT_REPLICAS:  # acknowledge only what a replica holds (README "High availability")
            app.state.ledger = ReplicatedLedger(
                app.state.ledger,
                app.state.redis,
                settings.REDIS_WAIT_REPLICAS,
                settings.REDIS_WAIT_TIMEOUT_MS,
            )
        # Long-lived objects out of the collector's way, and fewer gen-0 passes: the hot path allocates many
        # short-lived dicts, and collector pauses show up directly as p99 latency.
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        log.info("ingest.started public_url=%s", settings.PUBLIC_URL)
        if not (settings.METRICS_TOKEN and settings.METRICS_TOKEN.get_secret_value()):
            log.warning("ingest.metrics_closed reason=no_metrics_token")  # /metrics answers 403 to everyone
        yield
        await app.state.redis.aclose()

    app = Starlette(
        routes=[
            # Reached only by other methods (405), POSTs being served by `Ingest` before routing.
            *(Route(path, receiver, methods=["POST"]) for path, receiver in webhooks.items()),
            Route("/install/aircall", oauth.install_aircall),
            Route("/oauth/aircall/callback", oauth.aircall_callback),
            Route("/oauth/jobber/connect", oauth.jobber_connect),
            Route("/oauth/jobber/callback", oauth.jobber_callback),
            Route("/jobber/manage", signin.manage_app, methods=["GET"]),
            Route("/jobber/sign-in", signin.sign_in_help, methods=["GET"]),
            Route("/settings", settings_page.show, methods=["GET"]),
            Route("/settings", settings_page.save, methods=["POST"]),
            Route("/settings/login", signin.login_page, methods=["GET"]),
            Route("/settings/login", signin.login, methods=["POST"]),
            Route("/settings/logout", settings_page.logout, methods=["POST"]),
            Route("/settings/jobber/confirm", settings_page.confirm_jobber, methods=["POST"]),
            Route("/settings/jobber/disconnect", settings_page.disconnect_page, methods=["GET"]),
            Route("/settings/jobber/disconnect", settings_page.disconnect, methods=["POST"]),
            Route("/settings/replay", settings_page.replay_failed, methods=["POST"]),
            Route("/settings/sync", settings_page.sync_now, methods=["POST"]),
            Route("/settings/card-preview", settings_page.card_preview, methods=["GET"]),
            Mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static"),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    sources = {path: path.rsplit("/", 1)[-1] for path in webhooks}  # /webhooks/aircall -> aircall
    answers.count_overload_answers(sources)
    return Ingest(
        app,
        {path: answers.Counted(sources[path], receiver) for path, receiver in webhooks.items()},
        settings.FORWARDED_ALLOW_IPS,
    )


def __getattr__(name: str) -> Ingest:
    # `uvicorn ingest.app:app` builds the app on first access, after the environment is read.
    if name == "app":
        return create_app(settings_or_exit("ingest"))
    raise AttributeError(name)
