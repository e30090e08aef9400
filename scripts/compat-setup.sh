#!/usr/bin/env bash
# Create (or refresh) the Python venv used by the real-client compatibility suite.
#
#   scripts/compat-setup.sh
#
# The venv lives outside the clone (scripts/venv-dir.sh prints where) and holds everything in tests/compat/requirements.txt
# (the pinned Azure CLI, pytest and Python SDKs). The script is idempotent: it
# re-installs only when the venv is missing/broken or requirements.txt changed
# (tracked by a stamp file holding the hash of requirements.txt + Python version).
#
# Env overrides:
#   PYTHON           interpreter used to create the venv (default: python3)
#   COMPAT_VENV      venv location (default: scripts/venv-dir.sh, keyed by requirements and Python)
#   COMPAT_FORCE=1   re-install even if the stamp matches
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/.." && pwd))"
REQ="$ROOT/tests/compat/requirements.txt"
VENV="${COMPAT_VENV:-$(bash "$ROOT/scripts/venv-dir.sh")}"
export COMPAT_VENV="$VENV"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.compat-requirements.stamp"

log() { echo "compat-setup: $*" >&2; }

[ -f "$REQ" ] || { log "missing $REQ"; exit 1; }
command -v "$PYTHON" >/dev/null || { log "$PYTHON not found (install python3 >= 3.10)"; exit 1; }

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  log "$("$PYTHON" --version 2>&1) is too old: azure-cli 2.91.0 / pytest need Python >= 3.10"
  exit 1
fi

# Serialise concurrent runs (e.g. two test invocations started together).
if command -v flock >/dev/null; then
  LOCK="${TMPDIR:-/tmp}/azemu-compat-setup-$(printf '%s' "$VENV" | sha256sum | cut -c1-12).lock"
  exec 9>"$LOCK"
  flock 9
fi

want_stamp() {
  local py_ver req_hash
  py_ver="$("$VENV/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
  req_hash="$(sha256sum "$REQ" | cut -d' ' -f1)"
  echo "$req_hash python-$py_ver"
}

venv_healthy() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 \
    && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

make_venv() {
  rm -rf "$VENV"
  if "$PYTHON" -m venv "$VENV" >/dev/null 2>&1 && venv_healthy; then
    return 0
  fi
  # Debian/Ubuntu ship venv/ensurepip separately.
  rm -rf "$VENV"
  if command -v apt-get >/dev/null; then
    log "'$PYTHON -m venv' failed; installing python3-venv with apt-get"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    local pyver
    pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv \
      || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "python${pyver}-venv"
  fi
  "$PYTHON" -m venv "$VENV"
  venv_healthy || { log "venv at $VENV is not usable"; exit 1; }
}

if ! venv_healthy; then
  log "creating venv at $VENV"
  make_venv
fi

if [ "${COMPAT_FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ -x "$VENV/bin/az" ] \
   && [ "$(cat "$STAMP")" = "$(want_stamp)" ]; then
  log "venv up to date ($VENV)"
  exit 0
fi

log "installing $REQ into $VENV (this takes a few minutes the first time)"
start=$(date +%s)
rm -f "$STAMP"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r "$REQ"
"$VENV/bin/az" version -o none
want_stamp >"$STAMP"
log "done in $(( $(date +%s) - start ))s"
