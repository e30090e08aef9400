#!/usr/bin/env bash
# Prints where the Python venv of the real-client and conformance suites lives: outside the
# clone, in azemu's cache folder, keyed by the requirements and the Python version, so a fresh
# clone (or CI) reuses an install made before and a change of either makes a new one.
#   ${AZEMU_CACHE:-${XDG_CACHE_HOME:-~/.cache}/azemu}/venv-<hash>
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
cache="${AZEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/azemu}"
key="$( { cat "$ROOT/tests/compat/requirements.txt"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-12)"
echo "$cache/venv-$key"
