#!/usr/bin/env bash
# Runs every test azemu has, from a fresh clone:
#   0. formatting and lints (cargo fmt --check, cargo clippy -D warnings),
#   1. the Rust unit and HTTP integration tests (cargo test),
#   2. the scenario packs in scenarios/ (azemu scenario run),
#   3. the real-client suite: the Azure CLI and the Python SDKs against azemu (tests/compat),
#   4. the Azure SDKs for Go and JavaScript from a fresh shell wired by `azemu env` (tests/sdk-*),
#   5. the conformance suite: the official API examples replayed (tests/conformance),
#   6. the dashboard in headless Chromium (tests/browser),
#   7. the Terraform suite: the real azurerm provider, 4.18 and 5.2, built from source on first
#      use and cached (tests/terraform; needs terraform on PATH and Go for that first build).
# Installs what it needs (a Python venv with azure-cli, cached outside the clone by
# scripts/venv-dir.sh); builds once.
# Exits non-zero when any suite fails; the last line counts the suites.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; else
    echo "test: cargo not found; install Rust (https://rustup.rs) first" >&2; exit 1; fi
fi

passed=0; failed=0; failures=()
suite() {
  local name="$1"; shift
  echo
  echo "=== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}

export COMPAT_VENV="${COMPAT_VENV:-$(bash "$ROOT/scripts/venv-dir.sh")}"

echo "=== build"
cargo build --locked || { echo "test: the build failed"; echo "suites: 0 passed, 1 failed"; exit 1; }
export AZEMU_BIN="$ROOT/target/debug/azemu"

suite "format (cargo fmt --check)" cargo fmt --all -- --check
suite "lint (cargo clippy -D warnings)" cargo clippy --locked --all-targets -- -D warnings
suite "rust tests" cargo test --locked
suite "scenarios" "$AZEMU_BIN" scenario run scenarios
suite "real clients (az, Python SDKs)" bash scripts/compat-test.sh
suite "real clients (Go and JavaScript SDKs)" bash scripts/sdk-test.sh
suite "conformance (official examples)" bash scripts/conformance.sh
suite "browser (dashboard)" bash scripts/browser-test.sh
suite "terraform (azurerm 4.18, 5.2)" bash scripts/terraform-test.sh

echo
for f in "${failures[@]:-}"; do [ -n "$f" ] && echo "failed suite: $f"; done
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
