#!/usr/bin/env bash
# The rewrite benchmark: `fleetwright recipe apply` against the ast-grep CLI
# of the same version, on three corpora: the generated Python corpus
# (bench/gen_corpus.py) with bench/rules.yaml, whose outputs must be
# byte-identical; and real code fetched at benchmark time
# (bench/fetch_corpus.py: PyPI sdists with bench/rules-python.yaml, npm
# packages with bench/rules-js.yaml), whose outputs must agree but for a
# multi-line match's kept layout (bench/compare_trees.py). Prints both
# median wall times and their ratio per corpus, and the floor: fleetwright
# on the files that change alone (what a perfect prefilter would leave to
# parse). It is a benchmark, not a test: a slow machine never fails it.
#
# Usage: bench/rewrite.sh
# Environment:
#   CORPUS=all      generated, python, js or all
#   RUNS=5          timed runs of each tool (a fresh copy of the corpus each)
#   LINES=320000    lines of Python asked of the generator (it gives a bit more)
#   SEED=20240521   the corpus seed
#   WORK=<dir>      where the corpus and the copies go (default: a temp dir)
#   KEEP=1          keep WORK afterwards
#   FLEETWRIGHT=<path>  time this binary (default: cargo build --release)
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
# another build could replace it while we time it. FLEETWRIGHT=<path>
# times that binary instead (an older build, for a before-and-after).
if [[ -n ${FLEETWRIGHT:-} ]]; then
    built=$FLEETWRIGHT
else
echo "== cargo build --release" >&2
built=$(cd "$repo" && cargo build --release --locked --message-format=json-render-diagnostics |
    python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "fleetwright" and msg.get("executable"):
        print(msg["executable"])
')
fi
[[ -x $built ]] || die "no fleetwright binary at '$built'"
mkdir -p "$work/bin"
fleetwright="$work/bin/fleetwright"
cp "$built" "$fleetwright"

corpus=${CORPUS:-all}
case $corpus in
generated | python | js | all) ;;
*) die "CORPUS must be generated, python, js or all (got '$corpus')" ;;
esac

now_us() {
    if [[ -n ${EPOCHREALTIME:-} ]]; then
        echo "${EPOCHREALTIME/[.,]/}"
    else
        echo $(($(date +%s%N) / 1000))
    fi
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One timed run of a tool on a fresh copy of SOURCE with RULES; prints the
# wall time in ms. fleetwright skips files over 1 MiB by default; ast-grep
# reads them all, so it is told to read them too.
run() {
    local tool=$1 source=$2 rules=$3 dir="$work/$1"
    rm -rf "$dir"
    cp -R "$source" "$dir"
    local start end
    start=$(now_us)
    case $tool in
    fleetwright) "$fleetwright" recipe apply "$rules" "$dir" --max-file-size 1000000000 >"$work/$tool.log" 2>&1 ;;
    ast-grep) "$ast_grep" scan --rule "$rules" --update-all "$dir" >"$work/$tool.log" 2>&1 ;;
    esac || die "$tool failed, see $work/$tool.log: $(tail -3 "$work/$tool.log")"
    end=$(now_us)
    echo $(((end - start) / 1000))
}

rows=()
# bench NAME SOURCE RULES: RUNS alternating runs of both tools, the outputs
# compared after each (byte-identical for the generated corpus; for real
# code, bench/compare_trees.py: identical but for a multi-line match's kept
# layout); one row of the table.
bench() {
    local name=$1 source=$2 rules=$3
    local files lines
    files=$(find "$source" -type f | wc -l)
    lines=$(find "$source" -type f -exec cat {} + | wc -l)
    echo "== $name: $lines lines in $files files, $runs runs of each tool" >&2
    local fw_times=() ag_times=() agreement=""
    for ((i = 1; i <= runs; i++)); do
        # Alternate which tool goes first, so that neither always gets the
        # warmer (or the busier) moment.
        if ((i % 2)); then
            fw_times+=("$(run fleetwright "$source" "$rules")")
            ag_times+=("$(run ast-grep "$source" "$rules")")
        else
            ag_times+=("$(run ast-grep "$source" "$rules")")
            fw_times+=("$(run fleetwright "$source" "$rules")")
        fi
        if [[ $name == generated ]]; then
            if ! diff -r "$work/fleetwright" "$work/ast-grep" >"$work/diff.txt"; then
                head -40 "$work/diff.txt" >&2
                die "$name, run $i: the outputs differ (full diff: $work/diff.txt; set KEEP=1 to keep it)"
            fi
            agreement="byte-identical"
        else
            agreement=$(python3 "$repo/bench/compare_trees.py" "$source" "$work/fleetwright" "$work/ast-grep") ||
                die "$name, run $i: the outputs disagree (set KEEP=1 to keep them in $work)"
        fi
        echo "   run $i: fleetwright ${fw_times[-1]} ms, ast-grep ${ag_times[-1]} ms" >&2
    done
    local changed
    changed=$(diff -rq "$source" "$work/fleetwright" | wc -l || true)
    ((changed > 0)) || die "$name: no file changed: the benchmark would measure nothing"
    local fw_median ag_median ratio
    fw_median=$(printf '%s\n' "${fw_times[@]}" | median)
    ag_median=$(printf '%s\n' "${ag_times[@]}" | median)
    ratio=$(awk -v a="$fw_median" -v b="$ag_median" 'BEGIN { printf "%.2f", a / b }')
    echo "   $name: $agreement; $(tail -1 "$work/fleetwright.log")" >&2
    # The floor: fleetwright on the files that change alone, which any tool
    # must parse and rewrite; what a perfect prefilter would leave.
    rm -rf "$work/floor"
    python3 - "$source" "$work/fleetwright" "$work/floor" <<'PY'
import os, shutil, sys

source, rewritten, floor = sys.argv[1:4]
os.makedirs(floor)
for folder, _, names in os.walk(source):
    for name in names:
        rel = os.path.relpath(os.path.join(folder, name), source)
        before, after = os.path.join(source, rel), os.path.join(rewritten, rel)
        with open(before, "rb") as b:
            same = os.path.exists(after) and open(after, "rb").read() == b.read()
        if not same:
            os.makedirs(os.path.join(floor, os.path.dirname(rel)), exist_ok=True)
            shutil.copyfile(before, os.path.join(floor, rel))
PY
    local floor_times=() floor_median floor_ratio
    for ((i = 1; i <= runs; i++)); do
        floor_times+=("$(run fleetwright "$work/floor" "$rules")")
    done
    floor_median=$(printf '%s\n' "${floor_times[@]}" | median)
    floor_ratio=$(awk -v a="$floor_median" -v b="$ag_median" 'BEGIN { printf "%.2f", a / b }')
    echo "   $name: the changed files alone: fleetwright ${floor_times[*]} ms" >&2
    rows+=("| $name | $lines lines, $files files | $changed | $fw_median ms (${fw_times[*]}) | $ag_median ms (${ag_times[*]}) | **$ratio** | $floor_median ms, $floor_ratio |")
}

if [[ $corpus == generated || $corpus == all ]]; then
    echo "== generating the corpus (seed $seed)" >&2
    rm -rf "$work/corpus"
    python3 "$repo/bench/gen_corpus.py" "$work/corpus" --seed "$seed" --lines "$lines" >&2
    bench generated "$work/corpus" "$rules"
fi
if [[ $corpus == python || $corpus == js || $corpus == all ]]; then
    echo "== fetching the real-code corpora (cached in .cache/bench)" >&2
    only=()
    [[ $corpus == all ]] || only=(--only "$corpus")
    rm -rf "$work/real"
    python3 "$repo/bench/fetch_corpus.py" "$work/real" "${only[@]}" >&2
    [[ $corpus == js ]] || bench "python (PyPI sdists)" "$work/real/python" "$repo/bench/rules-python.yaml"
    [[ $corpus == python ]] || bench "js/ts (npm packages)" "$work/real/js" "$repo/bench/rules-js.yaml"
fi

echo "machine: $(nproc) cores, $(uname -sm); $found_version; fleetwright $("$fleetwright" --version | awk '{print $2, $3}')"
echo
echo "| corpus | size | files changed | fleetwright, median | ast-grep, median | ratio | floor: fleetwright on the changed files alone, median, ratio |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
