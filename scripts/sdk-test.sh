#!/usr/bin/env bash
# The Azure SDKs for Go and JavaScript against azemu, wired the way the README tells users:
# from a fresh shell (a scratch HOME, no profile), `azemu --port 0 &` then
# `eval "$(azemu env)"`, and nothing else. Then, in that shell:
#   - go test in tests/sdk-go (azidentity, armresources, armmsi, armauthorization/v2,
#     armcontainerservice/v6; versions pinned by go.mod/go.sum; module cache: Go's own, ~/go);
#   - node --test in tests/sdk-js (@azure/identity and @azure/arm-*; versions pinned by
#     package-lock.json; node_modules installed once per lockfile under
#     ~/.cache/azemu/sdk-js-<hash> and linked in, never inside the clone);
#   - when the venv with az exists (scripts/compat-setup.sh): `az group create` and the
#     README's Python SDK snippet, in the same shell.
#
#   scripts/sdk-test.sh            (AZEMU_BIN: the azemu binary, default target/debug/azemu)
#
# Prints one closing line "sdk: N passed, N failed" and exits non-zero when any part fails.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
AZEMU_BIN="${AZEMU_BIN:-$ROOT/target/debug/azemu}"
case "$AZEMU_BIN" in /*) ;; *) AZEMU_BIN="$ROOT/$AZEMU_BIN" ;; esac
VENV="${COMPAT_VENV:-$(bash "$ROOT/scripts/venv-dir.sh")}"
export COMPAT_VENV="$VENV"
log() { echo "sdk-test: $*" >&2; }

[ -x "$AZEMU_BIN" ] || { log "azemu binary not found at $AZEMU_BIN (cargo build first, or set AZEMU_BIN)"; exit 1; }
command -v go >/dev/null || { log "go not found (install Go >= 1.24)"; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || { log "node/npm not found (install Node.js >= 20)"; exit 1; }

# Go: the caller's module and build caches, so a scratch HOME does not download again.
GOMODCACHE="$(go env GOMODCACHE)"; GOCACHE="$(go env GOCACHE)"
export GOMODCACHE GOCACHE GOTOOLCHAIN=local GOFLAGS=-mod=readonly

# JavaScript: node_modules per lockfile hash, outside the clone.
LOCK_HASH="$(sha256sum tests/sdk-js/package-lock.json | cut -c1-12)"
JS_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/azemu/sdk-js-$LOCK_HASH"
if [ ! -f "$JS_CACHE/.installed" ]; then
  log "installing the JavaScript SDKs into $JS_CACHE"
  mkdir -p "$JS_CACHE"
  cp tests/sdk-js/package.json tests/sdk-js/package-lock.json "$JS_CACHE/"
  (cd "$JS_CACHE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || { log "npm ci failed"; exit 1; }
  touch "$JS_CACHE/.installed"
fi
ln -sfn "$JS_CACHE/node_modules" tests/sdk-js/node_modules

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/azemu-sdk-XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT
BIN_DIR="$SCRATCH/bin"; mkdir -p "$BIN_DIR"
ln -s "$AZEMU_BIN" "$BIN_DIR/azemu"
PY=""; PY_NEW=""
if [ -x "$VENV/bin/az" ]; then
  ln -s "$VENV/bin/az" "$BIN_DIR/az"; PY="$VENV/bin/python"
  # The newest azure-mgmt-resource beside the venv's pinned one (installed once, outside the
  # clone, run with `python -S` so the venv's copy does not shadow it).
  PY_NEW="${XDG_CACHE_HOME:-$HOME/.cache}/azemu/py-azure-mgmt-resource-26.0.0"
  if [ ! -f "$PY_NEW/.installed" ]; then
    "$PY" -m pip install -q --disable-pip-version-check --target "$PY_NEW" \
      azure-identity==1.27.0 azure-mgmt-resource==26.0.0 >/dev/null 2>&1 && touch "$PY_NEW/.installed" \
      || { log "could not install azure-mgmt-resource 26.0.0"; PY_NEW=""; }
  fi
fi

# The fresh shell: only PATH (azemu, go, node, az) and the Go caches come in.
env -i HOME="$SCRATCH/home" PATH="$BIN_DIR:$(dirname "$(command -v go)"):$(dirname "$(command -v node)"):/usr/bin:/bin" \
  GOMODCACHE="$GOMODCACHE" GOCACHE="$GOCACHE" GOTOOLCHAIN=local GOFLAGS=-mod=readonly \
  ROOT="$ROOT" PY="$PY" PY_NEW="$PY_NEW" \
  bash --noprofile --norc -c '
passed=0; failed=0
part() { local name="$1"; shift; echo; echo "--- $name"; if "$@"; then passed=$((passed+1)); else failed=$((failed+1)); echo "FAILED: $name"; fi; }
mkdir -p "$HOME"
azemu --port 0 >"$HOME/azemu.log" 2>&1 &
AZEMU_PID=$!
ENV_TEXT="$(azemu env)" || { cat "$HOME/azemu.log"; echo "sdk: 0 passed, 1 failed"; exit 1; }
eval "$ENV_TEXT"   # what a user types as: eval "$(azemu env)"
echo "azemu at $AZURE_AUTHORITY_HOST"
part "Go SDK (tests/sdk-go)" bash -c "cd \"$ROOT/tests/sdk-go\" && go test -count=1 -v ./... 2>&1 | grep -E \"^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go\""
part "JavaScript SDK (tests/sdk-js)" bash -c "cd \"$ROOT/tests/sdk-js\" && node --test --test-reporter=spec"
if [ -n "$PY" ]; then
  part "az in the same shell" bash -c "az group create -n fresh-shell -l westus2 --query properties.provisioningState -o tsv | grep -x Succeeded"
  part "Python SDK, azure-mgmt-resource as az pins it (the README snippet)" "$PY" "$ROOT/tests/readme_python.py" "$ROOT/README.md"
  if [ -n "$PY_NEW" ]; then
    part "Python SDK, azure-mgmt-resource 26.0.0 (the README snippet)" env PYTHONPATH="$PY_NEW" "$PY" -S "$ROOT/tests/readme_python.py" "$ROOT/README.md"
  fi
fi
kill -TERM "$AZEMU_PID"; wait "$AZEMU_PID" 2>/dev/null
[ "$failed" -eq 0 ] || { echo "--- azemu log"; tail -20 "$HOME/azemu.log"; }
echo
echo "sdk: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
'
