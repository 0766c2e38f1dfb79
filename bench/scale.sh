#!/usr/bin/env bash
# The scale benchmark (issue 11): fleetwright at an organisation's size.
#
# 1. Catalogs of 10,000 components, `plan` only (no repositories needed):
#    one exported file; the same as 10,000 files under a Location glob; a
#    1 MB file whose components all name owners that are not in the catalog.
# 2. A fleet of N local repositories (default 1,000) and a one-file catalog
#    of N components: `plan`, `launch` (clone, rewrite, commit, push, open
#    the pull request of every repository), a no-op `run` (sync only),
#    `status --json`, `report --format html`, `scan`.
# 3. all-repos (PyPI `all-repos`, installed into WORK at benchmark time) on
#    a copy of the same repositories: `all-repos-clone`, then
#    `all-repos-sed` of the same change, pushed (`merge_to_master`).
# 4. Workers (issue 15): `fleetwright worker` x 1, 2 and 4 (each -j 1) on a
#    fresh copy of W repositories (default 120) whose campaign has a
#    CPU-heavy `verify:` (about half a second of Python), on a throw-away
#    PostgreSQL cluster in WORK (Debian's postgresql; SQLite when it is
#    missing): targets a minute for each.
#
# Each is measured with /usr/bin/time -v: wall time and peak RSS. It is a
# benchmark, not a test: a slow machine never fails it. Results go to
# stdout as a Markdown table; docs/benchmarks.md records them.
#
# Usage: bench/scale.sh [N]
# Environment:
#   N=1000         repositories of the fleet (10000 on request)
#   W=120          repositories of the workers' fleet
#   ONLY=workers   run section 4 only
#   CATALOG=10000  components of the plan-only catalogs
#   JOBS=2         parallel jobs for both tools
#   WORK=<dir>     where everything goes (default: a temp dir, removed)
#   KEEP=1         keep WORK
#   FLEETWRIGHT=<path>  the binary (default: cargo build --release)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-${N:-1000}}
catalog_n=${CATALOG:-10000}
jobs=${JOBS:-2}

die() {
    echo "bench/scale.sh: $*" >&2
    exit 1
}
[[ -x /usr/bin/time ]] || die "needs GNU time: apt-get install -y time"
command -v python3 >/dev/null || die "needs python3"
command -v git >/dev/null || die "needs git"

if [[ -n ${WORK:-} ]]; then
    work=$WORK
    mkdir -p "$work"
else
    work=$(mktemp -d -t fleetwright-scale-XXXXXX)
    [[ -n ${KEEP:-} ]] || trap 'rm -rf "$work"' EXIT
fi
work=$(cd "$work" && pwd)

if [[ -n ${FLEETWRIGHT:-} ]]; then
    fw=$FLEETWRIGHT
else
    (cd "$repo" && cargo build --release --quiet)
    fw=$repo/target/release/fleetwright
fi

rows=()
# measure LABEL DIR CMD...: run CMD in DIR under /usr/bin/time -v; one row.
measure() {
    local label=$1 dir=$2
    shift 2
    local out=$work/time.txt
    local code=0
    # What the steps before left in the page cache is written out first,
    # so that neither tool pays for the other's writes.
    sync
    (cd "$dir" && /usr/bin/time -v "$@" >"$work/stdout.txt" 2>"$out") || code=$?
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out")
    # h:mm:ss or m:ss.cc -> seconds
    local secs
    secs=$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')
    local mb=$((rss / 1024))
    local note=""
    [[ $code -eq 0 ]] || note=" (exit $code)"
    echo "  $label: ${secs} s, ${mb} MB$note" >&2
    rows+=("| $label$note | ${secs} s | ${mb} MB |")
    if [[ $code -ne 0 && $code -ne 3 && $code -ne 4 ]]; then
        tail -20 "$out" >&2
    fi
}

w_n=${W:-120}
worker_rows=()
# The throw-away PostgreSQL of section 4 (globals: the EXIT trap uses them).
pg_bin=""
as=()
stop_postgres() {
    if [[ -n $pg_bin && -d $work/pg/data ]]; then
        "${as[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
    fi
}
# The workers' figure: W repositories, a verify that burns CPU, 1, 2 and 4
# workers, each preparing one target at a time.
workers_section() {
    echo "== workers on $w_n repositories with a CPU-heavy verify" >&2
    local pristine=$work/workers-pristine
    python3 "$repo/bench/gen_fleet.py" "$pristine" --repos "$w_n"
    cat >>"$pristine/campaign.yaml" <<'YAML'
verify:
  command: python3 -c "sum(i * i for i in range(15000000))"
  timeout: 5m
YAML
    local backend=SQLite port=""
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [[ -n $pg_bin && -x $pg_bin/initdb ]]; then
        backend=PostgreSQL
        local pg=$work/pg
        mkdir -p "$pg"
        if [[ $(id -u) -eq 0 ]]; then
            chmod 755 "$work"
            chown postgres: "$pg"
            as=(runuser -u postgres --)
        fi
        "${as[@]}" "$pg_bin/initdb" -D "$pg/data" -U fleetwright --auth=trust -N >/dev/null
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        "${as[@]}" "$pg_bin/pg_ctl" -D "$pg/data" -l "$pg/log" -w \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg -c fsync=off -c max_connections=200" \
            start >/dev/null
        # Stopped at exit, before WORK goes.
        trap 'stop_postgres; [[ -n ${KEEP:-} || -n ${WORK:-} ]] || rm -rf "$work"' EXIT
    fi
    local w
    for w in 1 2 4; do
        local fleet=$work/workers-$w
        rm -rf "$fleet"
        cp -a "$pristine" "$fleet"
        local state
        if [[ $backend == PostgreSQL ]]; then
            "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U fleetwright "workers_$w"
            state=postgres://fleetwright@127.0.0.1:$port/workers_$w
        else
            state=$fleet/state/fleetwright.db
        fi
        local start end i pids=()
        start=$(date +%s.%N)
        for ((i = 0; i < w; i++)); do
            (cd "$fleet" && /usr/bin/time -v -o "$fleet/worker-$i.time" \
                "$fw" --state "$state" --cache "$fleet/cache-$i" -q worker campaign.yaml --id "$i" -j 1 \
                >"$fleet/worker-$i.out" 2>&1) &
            pids+=($!)
        done
        local failed=0
        for i in "${pids[@]}"; do wait "$i" || failed=$((failed + 1)); done
        end=$(date +%s.%N)
        local secs rate rss
        secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
        # The largest of the workers (each with the verify commands it ran).
        rss=$(cat "$fleet"/worker-*.time | awk -F': ' '/Maximum resident set size/ { if ($2 > m) m = $2 } END { printf "%d", m / 1024 }')
        rate=$(awk -v n="$w_n" -v s="$secs" 'BEGIN { printf "%.0f", n * 60 / s }')
        local note=""
        [[ $failed -eq 0 ]] || note=" ($failed exited non-zero)"
        echo "  $w worker(s): $secs s, $rate targets a minute, ${rss} MB peak RSS a worker$note" >&2
        worker_rows+=("| $w$note | $secs s | $rate | ${rss} MB |")
    done
    echo
    echo "workers on $w_n repositories, verify \`python3 -c \"sum(i * i for i in range(15000000))\"\`, state in $backend, each worker -j 1:"
    echo
    echo "| workers | wall | targets a minute | peak RSS of a worker |"
    echo "| --- | --- | --- | --- |"
    printf '%s\n' "${worker_rows[@]}"
}

if [[ ${ONLY:-} == workers ]]; then
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)"
    echo "fleetwright: $("$fw" --version 2>/dev/null || echo "$fw")"
    workers_section
    exit 0
fi

echo "== catalogs of $catalog_n components (plan only)" >&2
python3 "$repo/bench/gen_fleet.py" "$work/one-file" --repos "$catalog_n" --no-repos
python3 "$repo/bench/gen_fleet.py" "$work/split" --repos "$catalog_n" --no-repos --split
# 2,421 components of ~390 bytes: a 1 MB file, every owner unknown.
python3 "$repo/bench/gen_fleet.py" "$work/unknown" --repos 2421 --unknown 2421 --no-repos
measure "plan, one file of $catalog_n components" "$work/one-file" "$fw" plan campaign.yaml
measure "plan, $catalog_n files under a Location glob" "$work/split" "$fw" plan campaign.yaml
measure "plan, 1 MB file, 2,421 unknown owners" "$work/unknown" "$fw" plan campaign.yaml
measure "catalog check, 1 MB file, 2,421 unknown owners" "$work/unknown" "$fw" catalog check catalog/all.yaml --json
unknown_stderr=$(cd "$work/unknown" && "$fw" plan campaign.yaml 2>&1 >/dev/null | wc -l)
unknown_quiet=$(cd "$work/unknown" && "$fw" plan -q campaign.yaml 2>&1 >/dev/null | wc -l)

echo "== a fleet of $n repositories" >&2
fleet=$work/fleet
python3 "$repo/bench/gen_fleet.py" "$fleet" --repos "$n" --unknown 200
state=$work/state/fleetwright.db
measure "plan, $n targets" "$fleet" "$fw" --state "$state" plan campaign.yaml
measure "launch, $n repositories (-j $jobs)" "$fleet" "$fw" --state "$state" launch campaign.yaml -j "$jobs"
# The floor under launch on this filesystem: the git CLI only cloning.
mkdir -p "$work/floor"
measure "git clone alone (git CLI, $jobs at once), $n repositories: the floor under launch" "$work/floor" \
    sh -c "ls '$fleet/remotes' | xargs -P $jobs -I{} git clone -q '$fleet/remotes/{}' '{}'"
launch_quiet=$(cd "$fleet" && "$fw" --state "$work/state-q/fleetwright.db" launch -q campaign.yaml -j "$jobs" 2>&1 >/dev/null | wc -l)
measure "run, no-op (sync only), $n targets" "$fleet" "$fw" --state "$state" run scale-bench
measure "status --json, $n targets" "$fleet" "$fw" --state "$state" status scale-bench --json
measure "report --format html, $n targets" "$fleet" "$fw" --state "$state" report scale-bench --format html --out "$work/report.html"
measure "scan, $n repositories" "$fleet" "$fw" --state "$state" scan scale-bench
measure "scan again, $n unchanged repositories" "$fleet" "$fw" --state "$state" scan scale-bench
# ast-grep on the same checkouts, as they are (it fetches nothing), when
# bench/rewrite.sh has installed it.
ast_grep=$repo/.cache/npm/node_modules/.bin/ast-grep
if [[ -x $ast_grep ]]; then
    printf 'id: python-logging-warn\nlanguage: python\nrule:\n  pattern: logging.warn($$$ARGS)\nfix: logging.warning($$$ARGS)\n' >"$work/ast-grep-rule.yaml"
    measure "$("$ast_grep" --version) scan of the same $n checkouts (no fetch)" "$fleet" \
        "$ast_grep" scan --rule "$work/ast-grep-rule.yaml" "$(dirname "$state")/cache/repos"
fi

echo "== all-repos on a copy of the same $n repositories" >&2
ar=$work/all-repos
if [[ ! -x $ar/venv/bin/all-repos-sed ]]; then
    python3 -m venv "$ar/venv"
    "$ar/venv/bin/pip" install --quiet all-repos
fi
ar_version=$("$ar/venv/bin/pip" show all-repos | awk '/^Version/ {print $2}')
rm -rf "$ar/remotes" "$ar/output"
cp -r "$fleet/remotes" "$ar/remotes"
python3 - "$ar" <<'EOF'
import json, os, sys
ar = sys.argv[1]
remotes = os.path.join(ar, "remotes")
repos = {d[:-4]: os.path.join(remotes, d) for d in sorted(os.listdir(remotes))}
json.dump(repos, open(os.path.join(ar, "repos.json"), "w"))
config = {
    "output_dir": os.path.join(ar, "output"),
    "source": "all_repos.source.json_file",
    "source_settings": {"filename": os.path.join(ar, "repos.json")},
    "push": "all_repos.push.merge_to_master",
    "push_settings": {},
}
path = os.path.join(ar, "all-repos.json")
json.dump(config, open(path, "w"))
os.chmod(path, 0o600)
EOF
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
measure "all-repos $ar_version: all-repos-clone, $n repositories (-j $jobs)" "$ar" \
    "$ar/venv/bin/all-repos-clone" -C all-repos.json -j "$jobs"
measure "all-repos $ar_version: all-repos-sed + push, $n repositories (-j $jobs)" "$ar" \
    "$ar/venv/bin/all-repos-sed" -C all-repos.json -j "$jobs" --commit-msg "logging.warn -> logging.warning" \
    's/logging\.warn(/logging.warning(/g' '*.py'
migrated=0
for r in "$ar"/remotes/*.git; do
    if git --git-dir="$r" show HEAD:service/handler.py | grep -q 'logging.warning('; then
        migrated=$((migrated + 1))
    fi
done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)"
echo "fleetwright: $("$fw" --version 2>/dev/null || echo "$fw"); all-repos $ar_version"
echo
echo "| what | wall | peak RSS |"
echo "| --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "stderr of \`plan\` with 2,421 unknown owners: $unknown_stderr lines; with -q: $unknown_quiet lines"
echo "stderr of \`launch -q\` with 200 unknown owners: $launch_quiet lines"
echo "all-repos migrated $migrated of $n repositories"
workers_section
