#!/usr/bin/env bash
# The README's run command: the whole service on its embedded default — sandbox Aircall and Jobber, a
# private Redis (AOF on), every Procfile role under honcho, then the demo scenario played through it.
# `--once` (or RUN_ONCE=1) stops everything after the demo and exits with its status (used by tests/CI).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ONCE="${RUN_ONCE:-}"
[ "${1:-}" = "--once" ] && ONCE=1

ensure_venv
ensure_redis
export PATH="$VENV/bin:$PATH"

RUN="$ROOT/.run"
mkdir -p "$RUN"
pids=()
cleanup() {
  trap - EXIT INT TERM
  say "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_redis "$RUN/redis"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Preferred ports, or a free one when taken (never disturb what already runs here, e.g. a Redis on 6379).
port_or_free() { "$VENV/bin/python" - "$1" <<'PY'
import socket, sys
want = int(sys.argv[1])
s = socket.socket()
try:
    s.bind(("127.0.0.1", want)); print(want)
except OSError:
    s.close(); s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])
PY
}
REDIS_PORT="$(port_or_free 6390)"
INGEST_PORT="$(port_or_free "${PORT:-8000}")"
JOBBER_PORT="$(port_or_free 8101)"
AIRCALL_PORT="$(port_or_free 8102)"
FLOWER_PORT="$(port_or_free 5555)"

# The sandbox vendors keep their state in memory, so the embedded default starts from a clean slate:
# integrations and events from an earlier run would point at vendor data that no longer exists.
rm -rf "$RUN/redis"
say "private Redis on 127.0.0.1:$REDIS_PORT (AOF on, data in .run/redis, fresh each run)"
start_redis "$RUN/redis" "$REDIS_PORT"

export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
# Sandbox mode: plain http on loopback and the sandbox's fixed SECRET_KEY are allowed (never in production).
export SANDBOX_MODE=true
export PUBLIC_URL="http://127.0.0.1:$INGEST_PORT"
export AIRCALL_API_URL="http://127.0.0.1:$AIRCALL_PORT"
export AIRCALL_OAUTH_URL="http://127.0.0.1:$AIRCALL_PORT/oauth"
export JOBBER_API_URL="http://127.0.0.1:$JOBBER_PORT/api/graphql"
export JOBBER_OAUTH_URL="http://127.0.0.1:$JOBBER_PORT/api/oauth"
export JOBBER_CLIENT_ID="${JOBBER_CLIENT_ID:-sandbox-client-id}"
# The demo company's Aircall limit, raised as Aircall does on request, so its contact backfill is quick.
export AIRCALL_RATE_LIMIT_PER_MIN="${AIRCALL_RATE_LIMIT_PER_MIN:-600}"
export JOBBER_CLIENT_SECRET="${JOBBER_CLIENT_SECRET:-sandbox-client-secret}"
# The sandbox Aircall's OAuth app, so the partner install (consent with its number picker) can be tried.
export AIRCALL_CLIENT_ID="${AIRCALL_CLIENT_ID:-sandbox-client-id}"
export AIRCALL_CLIENT_SECRET="${AIRCALL_CLIENT_SECRET:-sandbox-client-secret}"
# /metrics answers only with this bearer token (README "Operator surfaces"): one per run unless given.
if [ -z "${METRICS_TOKEN:-}" ]; then
  METRICS_TOKEN="$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))')"
fi
export METRICS_TOKEN
(umask 077 && printf '%s\n' "$METRICS_TOKEN" >"$RUN/metrics-token")
export INGEST_HOST=127.0.0.1 FLOWER_HOST=127.0.0.1 FLOWER_PORT BEAT_SCHEDULE_FILE="$RUN/celerybeat-schedule"

say "sandbox vendors: Jobber on :$JOBBER_PORT, Aircall on :$AIRCALL_PORT"
python -m sandbox.jobber --port "$JOBBER_PORT" >"$RUN/sandbox-jobber.log" 2>&1 & pids+=($!)
python -m sandbox.aircall --port "$AIRCALL_PORT" >"$RUN/sandbox-aircall.log" 2>&1 & pids+=($!)

say "Procfile roles (ingest, worker, beat, flower) under honcho; logs in .run/service.log"
honcho start -f Procfile -d "$ROOT" -p "$INGEST_PORT" >"$RUN/service.log" 2>&1 & pids+=($!)

wait_http() {  # wait_http NAME URL
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
    "$VENV/bin/python" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$2" 2>/dev/null && return 0
    sleep 0.2
  done
  die "$1 did not come up at $2 (see .run/*.log)"
}
wait_http "sandbox Jobber" "http://127.0.0.1:$JOBBER_PORT/"
wait_http "sandbox Aircall" "http://127.0.0.1:$AIRCALL_PORT/"
wait_http "ingest" "$PUBLIC_URL/readyz"
wait_http "flower" "http://127.0.0.1:$FLOWER_PORT/healthcheck"  # open even behind FLOWER_BASIC_AUTH
for _ in $(seq 1 60); do
  celery -A worker.app inspect ping --timeout 1 >/dev/null 2>&1 && break
  sleep 0.5
done
celery -A worker.app inspect ping --timeout 2 >/dev/null 2>&1 || die "no Celery worker answered (see .run/service.log)"
say "all roles healthy"

say "demo: install an integration against the sandbox and play the demo scenario"
status=0
ajctl demo --summary-file "$RUN/demo.json" || status=$?

# The demo integration's admin page: a one-time sign-in link, as an operator would hand it out.
DEMO_ID="$(python -c 'import json; print(json.load(open(".run/demo.json"))["integration"]["id"])' 2>/dev/null || true)"
SETTINGS_LINK="(the demo did not install an integration)"
[ -n "$DEMO_ID" ] && SETTINGS_LINK="$(ajctl integrations link "$DEMO_ID" --ttl-minutes 480 --json | python -c 'import json,sys; print(json.load(sys.stdin)["url"])')"

cat <<MSG

  Settings page   $SETTINGS_LINK
                  (the demo integration's admin page; the link works once, for 8 hours)
  Try an install  $PUBLIC_URL/install/aircall
                  (Aircall's consent: pick "Bright Lawn Care" and its numbers; then connect Jobber and pick
                   "Bright Lawn Care" there too: you land on the new integration's settings page)
  Or from Jobber  http://127.0.0.1:$JOBBER_PORT/marketplace
                  (the App Marketplace: Connect "Bright Lawn Care", then sign in (install from Aircall, or
                   the settings link above) and choose Attach on the settings page)
  Ingest          $PUBLIC_URL   (/healthz /readyz /metrics, POST /webhooks/aircall)
  Metrics         curl -H "Authorization: Bearer \$(cat .run/metrics-token)" $PUBLIC_URL/metrics
  Flower          http://127.0.0.1:$FLOWER_PORT
  Sandbox Jobber  http://127.0.0.1:$JOBBER_PORT/   (clients, notes, requests, tasks)
  Sandbox Aircall http://127.0.0.1:$AIRCALL_PORT/   (insight cards, contacts)
  Operator CLI    REDIS_URL=$REDIS_URL .venv/bin/ajctl integrations list
  Demo summary    .run/demo.json      Logs: .run/*.log

MSG
if [ -n "$ONCE" ]; then exit "$status"; fi
say "running; press Ctrl-C to stop"
wait "${pids[@]}"
