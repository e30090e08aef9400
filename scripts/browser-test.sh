#!/usr/bin/env bash
# The dashboard's browser test: drives azemu's page at /_azemu/ui in headless Chromium through
# the trainer walkthrough (tests/browser/*.test.mjs, run by node's built-in test runner).
#
# Installs what it needs: Debian's `chromium` (apt-get) when no Chromium is on the PATH, and
# `playwright-core` (npm ci; node_modules kept outside the clone, in
# ~/.cache/azemu/browser-<hash of the lockfile>, and linked into tests/browser). Each test starts
# its own azemu from $AZEMU_BIN (the debug build when unset). Screenshots go to
# target/ui-screenshots/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DIR="$ROOT/tests/browser"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "browser-test: installing node and npm (apt-get)"
  as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends nodejs npm
fi

CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$CHROMIUM" ]; then
  echo "browser-test: installing chromium (apt-get)"
  as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends chromium
  CHROMIUM="$(command -v chromium)"
fi
export CHROMIUM

HASH="$(sha256sum "$DIR/package-lock.json" | cut -c1-16)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/azemu/browser-$HASH"
if [ ! -f "$CACHE/.installed" ]; then
  echo "browser-test: npm ci into $CACHE"
  rm -rf "$CACHE" && mkdir -p "$CACHE"
  cp "$DIR/package.json" "$DIR/package-lock.json" "$CACHE/"
  (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$CACHE/.installed"
fi
ln -sfn "$CACHE/node_modules" "$DIR/node_modules"

if [ -z "${AZEMU_BIN:-}" ]; then
  cargo build --locked --quiet
  export AZEMU_BIN="$ROOT/target/debug/azemu"
fi
export AZEMU_SCREENSHOTS="${AZEMU_SCREENSHOTS:-$ROOT/target/ui-screenshots}"
mkdir -p "$AZEMU_SCREENSHOTS"

node --test --test-concurrency=1 "$DIR"/*.test.mjs
echo "browser-test: screenshots in $AZEMU_SCREENSHOTS"
