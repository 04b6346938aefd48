# Shared setup for the README commands: a Python 3.11+ venv with pinned dependencies, and redis-server.
# Sourced by scripts/run.sh and scripts/test.sh. Never touches a Redis already running on 6379.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = "0" ]; }

apt_install() {
  is_root || die "missing $* — install it (apt-get install $*) or re-run as root to let this script do it"
  command -v apt-get >/dev/null || die "missing $* and no apt-get here: install it with your package manager"
  say "installing $* with apt-get"
  if [ -z "${_APT_UPDATED:-}" ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; _APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  local py
  py="$(find_python)" || { apt_install python3 python3-venv; py="$(find_python)" || die "Python 3.11+ is required"; }
  if [ ! -x "$VENV/bin/python" ]; then
    "$py" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; "$py" -m venv "$VENV"; }
  fi
  local stamp="$VENV/.installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$ROOT/constraints.txt" -nt "$stamp" ]; then
    say "installing dependencies into .venv (pinned by constraints.txt)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c "$ROOT/constraints.txt" -e "$ROOT[dev]" >&2
    touch "$stamp"
  fi
}

# redis-server also runs the sentinels of the failover test (`redis-server CONF --sentinel`, the same binary):
# Debian's redis-sentinel package adds only a symlink to it plus a system-wide sentinel service (port 26379,
# watching 6379) that has no business running on a test machine, so it is not installed.
ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  command -v redis-server >/dev/null || die "redis-server is required"
}

# The page tests drive Debian's chromium through its chromedriver (Selenium; nothing downloaded at run time).
ensure_browser() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt_install chromium chromium-driver
  fi
  command -v chromium >/dev/null && command -v chromedriver >/dev/null || die "chromium and chromedriver are required"
}

# promtool checks deploy/prometheus (rules, their unit tests, the scrape config) and the dashboard's queries in
# make test (tests/unit/test_prometheus_rules.py). Debian's prometheus package provides /usr/bin/promtool; the
# Prometheus server it also installs is not started here (no service manager in containers; and on a machine with
# systemd, `systemctl disable --now prometheus` if you do not want it).
ensure_promtool() {
  command -v promtool >/dev/null || apt_install prometheus
  command -v promtool >/dev/null || die "promtool is required (apt-get install prometheus)"
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis DIR PORT: a private redis-server with AOF on (nothing lost on restart) and noeviction.
start_redis() {
  local dir="$1" port="$2"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes --appendfsync everysec \
    --maxmemory-policy noeviction --save "" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 1 100); do
    "$VENV/bin/python" -c "import redis,sys; redis.Redis(port=$port).ping()" 2>/dev/null && return 0
    sleep 0.1
  done
  die "private redis-server did not start (see $dir/redis.log)"
}

stop_redis() {
  local dir="$1"
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
}
