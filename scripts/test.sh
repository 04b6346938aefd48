#!/usr/bin/env bash
# The README's test command: sets up .venv, redis-server, chromium and promtool, then runs the whole suite.
# Tests start their own private redis-server on a free port; extra arguments go to pytest.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
ensure_redis
ensure_browser
ensure_promtool
say "running the test suite"
exec "$VENV/bin/pytest" "$@"
