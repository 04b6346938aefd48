"""`python -m sandbox.aircall --port 8102`: serve the Aircall emulator (optionally with a seeded company)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import uvicorn

from sandbox.aircall.app import create_app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sandbox.aircall", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8102)
    p.add_argument("--rate-limit", type=int, default=60, help="requests per window per company (default 60)")
    p.add_argument("--rate-window", type=float, default=60.0, help="window length in seconds (default 60)")
    p.add_argument("--rate-mode", choices=["fixed", "sliding"], default="fixed")
    p.add_argument("--rate-headers", choices=["limited", "always"], default="limited")
    p.add_argument("--seed", action="store_true", help="create one company with fixed demo credentials")
    p.add_argument("--seed-api-id", default="sandbox-api-id")
    p.add_argument("--seed-api-token", default="sandbox-api-token")
    args = p.parse_args(argv)
    seed: dict[str, Any] | None = None
    if args.seed:
        seed = {
            "name": "Acme Plumbing (sandbox)",
            "api_id": args.seed_api_id,
            "api_token": args.seed_api_token,
        }
    app = create_app(
        rate_limit_per_min=args.rate_limit,
        rate_window_s=args.rate_window,
        rate_mode=args.rate_mode,
        rate_headers=args.rate_headers,
        seed_company=seed,
    )
    if seed:
        print(json.dumps({"aircall_sandbox": f"http://{args.host}:{args.port}", **seed}), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
