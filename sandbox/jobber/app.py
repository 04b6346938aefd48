"""App factory: `create_app(**options) -> Starlette` for the emulated Jobber (see `runtime.Options`)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from sandbox.common import FaultMiddleware

from . import admin, marketplace, oauth
from .graphql_http import graphql_endpoint
from .page import home
from .runtime import Options, Sandbox
from .schema import get_schema
from .seed import seed_account


def create_app(**options: Any) -> Starlette:
    """Options (all optional): client_id, client_secret, signing_key, access_token_ttl_s, bucket_max,
    restore_rate, request_limit, request_window_s, supported_versions, unsupported_versions,
    require_version_header, web_base, app_name, app_id, webhook_url, webhook_topics, oauth_callback_url,
    manage_app_url, seed_clients, seed, faults.
    """
    get_schema()  # built now, so the first GraphQL requests (a cold benchmark burst) do not wait for it
    sandbox = Sandbox(Options(**options))
    if sandbox.options.seed_clients > 0:
        seed_account(
            sandbox.store, sandbox.store.default_account(), sandbox.options.seed_clients, sandbox.options.seed
        )
    routes = [
        Route("/", home, methods=["GET"]),
        Route("/api/graphql", graphql_endpoint, methods=["POST"]),
        Route("/api/oauth/authorize", oauth.authorize, methods=["GET", "POST"]),
        Route("/api/oauth/token", oauth.token, methods=["POST"]),
        *admin.ROUTES,
        *marketplace.ROUTES,
    ]
    app = Starlette(routes=routes, middleware=[Middleware(FaultMiddleware, faults=sandbox.faults)])
    app.state.jobber = sandbox
    app.state.faults = sandbox.faults  # read by sandbox.common.faults_endpoint
    return app
