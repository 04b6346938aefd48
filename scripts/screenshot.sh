#!/usr/bin/env bash
# Screenshot the sandbox pages as a person sees them (headless Chromium), e.g. during `make run`:
#   scripts/screenshot.sh http://127.0.0.1:8101/ jobber.png
# Installs Debian's chromium when missing (as root).
source "$(dirname "$0")/lib.sh"
url="${1:?usage: scripts/screenshot.sh URL OUT.png}"
out="${2:?usage: scripts/screenshot.sh URL OUT.png}"
command -v chromium >/dev/null || apt_install chromium
profile="$(mktemp -d)"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --window-size=1400,1000 \
  --hide-scrollbars --screenshot="$out" "$url" >/dev/null 2>&1
rm -rf "$profile"
[ -s "$out" ] || die "no screenshot written"
echo "$out"
