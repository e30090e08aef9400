#!/usr/bin/env bash
# Replay the official API examples against azemu and print the conformance table.
#
#   scripts/conformance.sh                 # all of tests/conformance
#   scripts/conformance.sh -k conformance  # extra pytest arguments are passed on
#   CONFORMANCE_ONLY='^ManagedClusters' scripts/conformance.sh   # replay only matching examples
#
# Builds nothing: it runs $AZEMU_BIN (default target/debug/azemu; build it first with
# `cargo build`). The reference is read from $AZEMU_API_REFERENCE (default
# ../shared/api-reference beside the repo); when it is missing the run FAILS, never skips.
# Uses the Python venv of scripts/compat-setup.sh (created or refreshed if needed).
# The table is printed and written to target/conformance.md.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="${COMPAT_VENV:-$(bash "$ROOT/scripts/venv-dir.sh")}"
export COMPAT_VENV="$VENV"

BIN="${AZEMU_BIN:-target/debug/azemu}"
case "$BIN" in /*) bin_path="$BIN" ;; *) bin_path="$ROOT/$BIN" ;; esac
if [ -z "${AZEMU_URL:-}" ] && [ ! -x "$bin_path" ]; then
  echo "conformance: azemu binary not found at $bin_path" >&2
  echo "conformance: build it first with \`cargo build\` (or set AZEMU_BIN, or AZEMU_URL + AZEMU_CA for a running azemu)" >&2
  exit 2
fi

"$SCRIPT_DIR/compat-setup.sh" || { echo "conformance: venv setup failed" >&2; exit 1; }

cd "$ROOT" || exit 1
"$VENV/bin/python" -m pytest tests/conformance -q -s "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "conformance: no tests were collected or selected; treating as a failure" >&2
  exit 1
fi
exit "$rc"
