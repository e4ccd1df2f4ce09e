#!/usr/bin/env bash
# Node dependencies of the browser tests: playwright-core, pinned by tests/browser/package-lock.json.
# It drives Debian's /usr/bin/chromium and downloads no browser of its own.
set -euo pipefail
cd "$(dirname "$0")/../tests/browser"
if ! command -v npm >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
if ! npm ls playwright-core >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --loglevel=error
fi
