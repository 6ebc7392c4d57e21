#!/usr/bin/env bash
# The browser the console's end-to-end test drives (cli/tests/console.rs):
# Debian's chromium, installed with apt-get when missing, and Node.js (its
# own WebSocket runs the DevTools protocol; no npm package, no browser
# download). Run by `make test` before the integration tests.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! node --experimental-websocket -e 'if (typeof WebSocket !== "function") process.exit(1)' 2>/dev/null; then
  echo "node $(node --version) has no WebSocket: the console's browser test needs Node.js 20.10 or later" >&2
  exit 1
fi
