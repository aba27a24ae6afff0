#!/usr/bin/env bash
# Make sure a Chromium the browser resolver can drive exists. Playwright cannot download its
# own build on machines without internet, so Debian's package is the fallback (root only).
set -euo pipefail
for candidate in "${SORA_BROWSER_CHROMIUM:-}" /usr/lib/chromium/chromium /usr/bin/chromium \
    "$(command -v chromium-browser || true)" "$(command -v google-chrome || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "chromium: $candidate"
    exit 0
  fi
done
if compgen -G "${HOME}/.cache/ms-playwright/chromium*/chrome-linux*/chrome" >/dev/null; then
  echo "chromium: Playwright's own build"
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "chromium: installing Debian's package with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "chromium: none found and not root; run 'sudo apt-get install chromium' or" \
     "'playwright install chromium' for --mode browser" >&2
