#!/usr/bin/env bash
# Run the real-client compatibility suite (the real Azure CLI against azemu).
#
#   scripts/compat-test.sh [pytest args...]      e.g.  scripts/compat-test.sh -m aks -x
#   scripts/compat-test.sh tests/compat/test_spine.py   (runs only the named files)
#
# Prepares the venv (scripts/compat-setup.sh), then runs `pytest tests/compat -q` with the
# venv's Python. The suite starts its own azemu from $AZEMU_BIN (default target/debug/azemu,
# build it first) or uses a running one given by $AZEMU_URL + $AZEMU_CA.
# Exits non-zero if any test fails or if no test ran (pytest exit code 5).
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/.." && pwd))"
VENV="${COMPAT_VENV:-$(bash "$ROOT/scripts/venv-dir.sh")}"
export COMPAT_VENV="$VENV"

"$SCRIPT_DIR/compat-setup.sh" || { echo "compat-test: venv setup failed" >&2; exit 1; }

cd "$ROOT" || exit 1
# Run the whole suite unless the arguments already name test files/dirs (tests/compat/x.py[::t]).
target=(tests/compat)
for arg in "$@"; do
  case "$arg" in -*) continue ;; esac
  if [ -e "${arg%%::*}" ]; then target=(); break; fi
done
"$VENV/bin/python" -m pytest "${target[@]}" -q "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "compat-test: no tests were collected or selected; treating as a failure" >&2
  exit 1
fi
exit "$rc"
