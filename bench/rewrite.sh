#!/usr/bin/env bash
# The rewrite benchmark: `fleetwright recipe apply` against the ast-grep CLI
# of the same version, the same five rules (bench/rules.yaml) on the same
# generated Python corpus (bench/gen_corpus.py). Fails if the two rewritten
# trees are not byte-identical; prints both median wall times and their
# ratio. It is a benchmark, not a test: a slow machine never fails it.
#
# Usage: bench/rewrite.sh
# Environment:
#   RUNS=5          timed runs of each tool (a fresh copy of the corpus each)
#   LINES=320000    lines of Python asked of the generator (it gives a bit more)
#   SEED=20240521   the corpus seed
#   WORK=<dir>      where the corpus and the copies go (default: a temp dir)
#   KEEP=1          keep WORK afterwards
# See docs/benchmarks.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-5}
lines=${LINES:-320000}
seed=${SEED:-20240521}
rules="$repo/bench/rules.yaml"

die() {
    echo "bench/rewrite.sh: $*" >&2
    exit 1
}

if [[ -n ${WORK:-} ]]; then
    work=$WORK
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/fleetwright-bench.XXXXXX")
fi
if [[ ${KEEP:-0} != 1 ]]; then
    trap 'rm -rf "$work"' EXIT
fi

# The ast-grep CLI of the version our ast-grep crates are pinned to, read
# from Cargo.lock so that the two never drift apart.
ast_grep_version=$(awk '/^name = "ast-grep-core"$/ { getline; gsub(/[^0-9.]/, ""); print }' "$repo/Cargo.lock")
[[ -n $ast_grep_version ]] || die "no ast-grep-core in Cargo.lock"
ast_grep="$repo/.cache/npm/node_modules/.bin/ast-grep"
if [[ "$("$ast_grep" --version 2>/dev/null || true)" != "ast-grep $ast_grep_version" ]]; then
    echo "== installing @ast-grep/cli@$ast_grep_version into .cache/npm" >&2
    npm install --prefix "$repo/.cache/npm" --no-save --no-audit --no-fund \
        "@ast-grep/cli@$ast_grep_version" >&2
fi
found_version=$("$ast_grep" --version 2>/dev/null || true)
[[ $found_version == "ast-grep $ast_grep_version" ]] ||
    die "expected ast-grep $ast_grep_version at $ast_grep, found '${found_version}'"

# Build, and copy the binary out: CARGO_TARGET_DIR may be shared, and
# another build could replace it while we time it.
echo "== cargo build --release" >&2
built=$(cd "$repo" && cargo build --release --locked --message-format=json-render-diagnostics |
    python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "fleetwright" and msg.get("executable"):
        print(msg["executable"])
')
[[ -x $built ]] || die "cargo did not report the fleetwright binary"
mkdir -p "$work/bin"
fleetwright="$work/bin/fleetwright"
cp "$built" "$fleetwright"

echo "== generating the corpus (seed $seed)" >&2
rm -rf "$work/corpus"
python3 "$repo/bench/gen_corpus.py" "$work/corpus" --seed "$seed" --lines "$lines" >&2
py_files=$(find "$work/corpus" -name '*.py' | wc -l)
py_lines=$(find "$work/corpus" -name '*.py' -exec cat {} + | wc -l)

now_us() {
    if [[ -n ${EPOCHREALTIME:-} ]]; then
        echo "${EPOCHREALTIME/[.,]/}"
    else
        echo $(($(date +%s%N) / 1000))
    fi
}

# One timed run of a tool on a fresh copy; prints the wall time in ms.
run() {
    local tool=$1 dir="$work/$1"
    rm -rf "$dir"
    cp -R "$work/corpus" "$dir"
    local start end
    start=$(now_us)
    case $tool in
    fleetwright) "$fleetwright" recipe apply "$rules" "$dir" >"$work/$tool.log" 2>&1 ;;
    ast-grep) "$ast_grep" scan --rule "$rules" --update-all "$dir" >"$work/$tool.log" 2>&1 ;;
    esac || die "$tool failed, see $work/$tool.log: $(tail -3 "$work/$tool.log")"
    end=$(now_us)
    echo $(((end - start) / 1000))
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "== $runs runs of each tool" >&2
fw_times=()
ag_times=()
for ((i = 1; i <= runs; i++)); do
    # Alternate which tool goes first, so that neither always gets the
    # warmer (or the busier) moment.
    if ((i % 2)); then
        fw_times+=("$(run fleetwright)")
        ag_times+=("$(run ast-grep)")
    else
        ag_times+=("$(run ast-grep)")
        fw_times+=("$(run fleetwright)")
    fi
    if ! diff -r "$work/fleetwright" "$work/ast-grep" >"$work/diff.txt"; then
        head -40 "$work/diff.txt" >&2
        die "run $i: the outputs differ (full diff: $work/diff.txt; set KEEP=1 to keep it)"
    fi
    echo "   run $i: fleetwright ${fw_times[-1]} ms, ast-grep ${ag_times[-1]} ms, identical" >&2
done

changed=$(diff -rq "$work/corpus" "$work/fleetwright" | wc -l || true)
((changed > 0)) || die "no file changed: the benchmark would measure nothing"
fw_median=$(printf '%s\n' "${fw_times[@]}" | median)
ag_median=$(printf '%s\n' "${ag_times[@]}" | median)
ratio=$(awk -v a="$fw_median" -v b="$ag_median" 'BEGIN { printf "%.2f", a / b }')
met=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.5) ? "met" : "NOT met" }')

cat <<EOF
corpus:          $py_lines lines of Python in $py_files files (seed $seed)
rules:           bench/rules.yaml (5 rules)
machine:         $(nproc) cores, $(uname -sm)
ast-grep:        $found_version ($(grep -o 'Applied [0-9]* changes' "$work/ast-grep.log" || echo '?'))
fleetwright:     $(tail -1 "$work/fleetwright.log")
files changed:   $changed
byte-identical:  yes (all $runs runs)
fleetwright:     median $fw_median ms  (runs: ${fw_times[*]})
ast-grep:        median $ag_median ms  (runs: ${ag_times[*]})
ratio:           $ratio  (target <= 0.50: $met)
EOF
