#!/usr/bin/env bash
# The demo's audit report (demo-out/audit/report.html, written by
# scripts/demo.sh step 9) rendered in headless Chromium: the rendered page
# shows the verified log, one row per committed round and the accuracy
# chart. Usage: tests/demo_audit_report_check.sh DEMO_OUT_DIR ROUNDS
set -euo pipefail
OUT="$1"
ROUNDS="$2"
REPORT="$OUT/audit/report.html"
[ -s "$REPORT" ] || { echo "no report at $REPORT" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium is missing: run scripts/install-deps.sh" >&2; exit 1; }
PROFILE=$(mktemp -d)
REPORT="$(cd "$(dirname "$REPORT")" && pwd)/$(basename "$REPORT")"
trap 'rm -rf "$PROFILE"' EXIT
DOM="$PROFILE/dom.html"
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-dev-shm-usage --user-data-dir="$PROFILE/profile" --dump-dom "file://$REPORT" \
  > "$DOM" 2> "$PROFILE/chromium.log" || { cat "$PROFILE/chromium.log" >&2; exit 1; }
fail() { echo "rendered report: $*" >&2; exit 1; }
grep -q "Tverr demo federation" "$DOM" || fail "title missing"
grep -q 'id="verification"' "$DOM" || fail "verification section missing"
grep -q 'class="verification verified"' "$DOM" || fail "the log is not shown as verified"
ROWS=$(grep -o 'class="round-row' "$DOM" | wc -l)
[ "$ROWS" -ge "$ROUNDS" ] || fail "$ROWS round rows, expected $ROUNDS"
grep -q "<svg" "$DOM" || fail "no chart"
grep -q "<polyline" "$DOM" || fail "the chart has no line"
grep -q "oslo-uh" "$DOM" || fail "sites missing"
echo "demo audit report renders in headless Chromium: $ROWS round rows, chart, verified"
