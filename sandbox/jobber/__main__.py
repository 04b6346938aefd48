"""`python -m sandbox.jobber --port 8101 [--seed N]`: run the emulated Jobber; with --seed, print an account
id and a token pair so a CLI can be pointed at it without a browser."""

from __future__ import annotations

import argparse
import json

import uvicorn

from .app import create_app
from .runtime import Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description="Emulated Jobber GraphQL API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed a demo account with N clients")
    parser.add_argument("--random-seed", type=int, default=42)
    parser.add_argument("--client-id", default="sandbox-client-id")
    parser.add_argument("--client-secret", default="sandbox-client-secret")
    parser.add_argument("--webhook-url", default=None)
    args = parser.parse_args()
    app = create_app(
        seed_clients=args.seed,
        seed=args.random_seed,
        client_id=args.client_id,
        client_secret=args.client_secret,
        webhook_url=args.webhook_url,
    )
    if args.seed:
        sandbox: Sandbox = app.state.jobber
        account = sandbox.store.default_account()
        pair = sandbox.issue_tokens(account)
        print(json.dumps({"account": {"id": account.id, "name": account.name}, **pair}), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
