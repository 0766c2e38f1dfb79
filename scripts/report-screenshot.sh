#!/usr/bin/env bash
# Regenerate docs/report.png: the HTML report of `fleetwright demo`,
# rendered by headless Chromium at 1280 pixels wide.
#
#   scripts/report-screenshot.sh            # writes docs/report.png
#   scripts/report-screenshot.sh OUT.png    # writes OUT.png
#
# Needs Chromium (scripts/install-test-deps.sh installs it). Builds the
# release binary with cargo (CARGO_TARGET_DIR is respected).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/docs/report.png"}
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "report-screenshot: no Chromium at $chromium: run scripts/install-test-deps.sh (apt-get install -y chromium)" >&2
    exit 1
fi

cd "$root"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$root/target}/release/fleetwright"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" demo --dir "$tmp/demo" >"$tmp/demo.log"
# The demo ends by writing its campaign's report and printing its path.
report=$(sed -n "s/^The campaign's report: //p" "$tmp/demo.log" | tail -n 1)
if [ -z "$report" ] || [ ! -f "$report" ]; then
    echo "report-screenshot: the demo did not write its report; its output:" >&2
    tail -n 20 "$tmp/demo.log" >&2
    exit 1
fi
cp "$report" "$tmp/report.html"

# The page is as tall as its content; the screenshot shows its top 2400px.
mkdir -p "$(dirname "$out")"
timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --hide-scrollbars \
    --window-size=1280,2400 --screenshot="$out" "file://$tmp/report.html" 2>"$tmp/chromium.log" || {
    echo "report-screenshot: chromium failed; its log:" >&2
    tail -n 20 "$tmp/chromium.log" >&2
    exit 1
}
echo "$out"
