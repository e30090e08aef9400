#!/usr/bin/env bash
# Benchmark azemu against its performance targets (all traffic on 127.0.0.1), one table:
#   exec-to-ready < 20 ms, idle RSS < 15 MB; GET resource-group throughput with a real bearer
#   token over HTTP (>= 0.85 x a bare hyper server) and HTTPS; identity PUTs from 32 clients
#   into 32 groups and into one (>= 20,000/s); the seed flow over REST (< 20 ms) and a
#   200-identity template deployment (< 1 s) as wall time; identity PUTs into one group
#   beside what-ifs (long writes) in another, against the same PUTs alone; RSS after the flows.
#
#   scripts/bench.sh [--json] [bench options...]     e.g.  scripts/bench.sh --rounds 5 --duration 5
#
# The scale run (instead of the above): 100,000 identities in one azemu; creates per second,
# RSS per identity, and the median latency of a `$top=1` page, `/resources?$top=10` and a
# role-assignment PUT at 1,000 and at 100,000 identities (their ratio should be near 1):
#
#   scripts/bench.sh --scale 100000 [--json] [--samples N]
#
# Builds azemu (`cargo build --release`) and the bench (bench/, its own cargo project), then runs
# `azemu-bench --azemu target/release/azemu "$@"`; `--help` lists the options. Build output and
# progress go to stderr, the summary (or the JSON with --json) to stdout. The targets are
# informational: the exit code is non-zero only when a build or a measurement fails.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$ROOT"

echo "bench: building azemu (release)" >&2
cargo build --release >&2
echo "bench: building azemu-bench (release)" >&2
cargo build --release --manifest-path bench/Cargo.toml >&2

if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  AZEMU_BIN="$CARGO_TARGET_DIR/release/azemu"
  BENCH_BIN="$CARGO_TARGET_DIR/release/azemu-bench"
else
  AZEMU_BIN="$ROOT/target/release/azemu"
  BENCH_BIN="$ROOT/bench/target/release/azemu-bench"
fi

exec "$BENCH_BIN" --azemu "$AZEMU_BIN" "$@"
