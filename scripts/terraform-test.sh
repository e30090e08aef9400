#!/usr/bin/env bash
# Run the Terraform suite: the real Terraform CLI with HashiCorp's azurerm provider (4.18.0 and
# 5.2.0, built from source) against azemu.
#
#   scripts/terraform-test.sh                 every flow (the test files run as parallel groups)
#   scripts/terraform-test.sh -k seed         pytest arguments: one pytest run with them
#
# Needs `terraform` on PATH and, for the first run on a machine, Go (the providers are compiled
# once by ../shared/tools/terraform-azurerm/build.sh into ~/.cache/azemu/terraform-azurerm, which
# takes 15-25 minutes each on 2 cores). Uses the venv of the real-client suite for pytest and az
# (scripts/compat-setup.sh) and $AZEMU_BIN (default target/debug/azemu, build it first).
# Each test file group starts its own azemu; each test gets its own subscription.
# Exits non-zero if a tool is missing, a build or a test fails, or no test ran.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="${COMPAT_VENV:-$ROOT/.venv}"
BUILD="${AZEMU_TF_BUILD:-$ROOT/../shared/tools/terraform-azurerm/build.sh}"
VERSIONS=(4.18.0 5.2.0)
started=$(date +%s)

fail() { echo "terraform-test: $*" >&2; exit 1; }

command -v terraform >/dev/null 2>&1 || fail "terraform is not on PATH: install the Terraform CLI (>= 1.5); the Terraform suite cannot run without it"
[ -f "$BUILD" ] || fail "$BUILD not found: the azurerm provider sources are expected in ../shared/tools/terraform-azurerm beside the repository"
"$SCRIPT_DIR/compat-setup.sh" || fail "venv setup failed"

for v in "${VERSIONS[@]}"; do
  t0=$(date +%s)
  dir="$(bash "$BUILD" "$v")" || fail "building terraform-provider-azurerm $v failed (is Go installed? see the output above)"
  [ -x "$dir/terraform-provider-azurerm" ] || fail "build.sh $v printed '$dir', which holds no provider binary"
  export "AZEMU_TF_PROVIDER_${v//./_}=$dir"
  echo "terraform-test: azurerm $v in $dir ($(( $(date +%s) - t0 ))s)"
done

cd "$ROOT" || exit 1
export AZEMU_TF_REPORT="${AZEMU_TF_REPORT:-$(mktemp -t azemu-tf-report.XXXXXX)}"
: > "$AZEMU_TF_REPORT"

if [ "$#" -gt 0 ]; then
  "$VENV/bin/python" -m pytest tests/terraform -q -p no:cacheprovider "$@"
  rc=$?
  [ "$rc" -eq 5 ] && { echo "terraform-test: no test ran; treating as a failure" >&2; rc=1; }
  exit "$rc"
fi

# Independent groups in parallel, each with its own azemu (the flows mostly wait: role
# assignments take about 20 s each to "replicate", which the provider does not let one skip).
# The 4.18 seed flow (the longest: its SDK waits 10 s before polling a delete) runs on its own.
seed418="tests/terraform/test_seed.py::test_seed_flow_apply_replan_destroy[4.18.0-block]"
groups=(
  "$seed418"
  "tests/terraform/test_seed.py --deselect $seed418"
  "tests/terraform/test_cluster_changes.py"
)
rest=""
for f in tests/terraform/test_*.py; do
  case " ${groups[*]} " in *" $f "*) ;; *) rest="$rest $f" ;; esac
done
[ -n "$rest" ] && groups+=("${rest# }")
logs="$(mktemp -d -t azemu-tf-logs.XXXXXX)"
pids=()
for i in "${!groups[@]}"; do
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pytest ${groups[$i]} -q -p no:cacheprovider -rfE > "$logs/group$i.log" 2>&1 &
  pids+=($!)
done
rc=0; ran=0
for i in "${!groups[@]}"; do
  wait "${pids[$i]}"; code=$?
  echo "--- ${groups[$i]} (exit $code)"
  cat "$logs/group$i.log"
  case "$code" in
    0) ran=$((ran + 1)) ;;
    5) echo "terraform-test: no test ran in ${groups[$i]}" >&2; rc=1 ;;
    *) ran=$((ran + 1)); rc=1 ;;
  esac
done
[ "$ran" -gt 0 ] || rc=1
echo "terraform-test: measured:"; cat "$AZEMU_TF_REPORT"
echo "terraform-test: $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - started ))s"
exit "$rc"
