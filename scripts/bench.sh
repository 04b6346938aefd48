#!/usr/bin/env bash
# `make bench`: sets up .venv, redis-server and wrk, then runs each benchmark; JSON on stdout.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
ensure_redis
command -v wrk >/dev/null || apt_install wrk
say "benchmarks (JSON on stdout)"
export SANDBOX_MODE=true  # against the sandbox vendors, on loopback over plain http
"$VENV/bin/python" -m bench "$@"
