#!/usr/bin/env bash
# The property tests with many more cases than a normal test run.
#
# `cargo test` runs each property 64 times (PROPTEST_CASES), which keeps
# them within seconds of a debug run. This script runs the same
# properties, in release mode, with PROPTEST_CASES cases each (20000 by
# default):
# - src/recipe/structured/proptests.rs: every structured editor (YAML,
#   JSON, TOML, HCL) on generated documents and edits: no panic, the
#   result parses again, the same edit applied twice changes nothing;
# - tests/tests/proptests.rs: campaign, catalog and recipe files read from
#   generated text: no panic.
# A failure prints the minimal input proptest found: keep it as a
# regression test beside the code it breaks, then fix the code.
#
# Usage: scripts/proptest-long.sh [cases]     (e.g. 100000)
# At 20000 cases on 2 cores, after the release build: about 2 minutes for
# the editors' properties and 75 seconds for the files'.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${1:-${PROPTEST_CASES:-20000}}"
# Shrinking a failure of a long run can take many steps.
export PROPTEST_MAX_SHRINK_ITERS="${PROPTEST_MAX_SHRINK_ITERS:-20000}"
echo "proptest: ${PROPTEST_CASES} cases per property" >&2
cargo test --release --lib recipe::structured::proptests
cargo test --release --test tests proptests
