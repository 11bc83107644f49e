#!/usr/bin/env bash
# The web console with a large store: time to first byte and bytes transferred per page.
#   - a projects-mode registry (`dockyard registry serve`, filesystem storage in a fresh temp
#     dir, 127.0.0.1 on a free port) over benchmarks/_make_console_store.py's store: 50
#     projects, 1,000 repositories (`bench` holds 951 of them), 10,000 tags, 20,000 audit
#     entries; and in `bench` two more: `big` with 120 tags and `vuln`, one image holding 158
#     packages (Debian's, an old Django application's, a Rust service's Cargo.lock)
#   - scanning on (REGISTRY_SCANNING_DB, one worker) with an advisory database imported by
#     `dockyard db import` from OSV advisories: the pypa and RustSec advisories the tests use
#     (VULNDB, default ../shared/testdata/vulndb next to the checkout, as tests/_infra/scan_env.py
#     finds it; its osv/PyPI and osv/crates.io folders), or any OSV files, folders or zips given
#     in ADVISORIES (e.g. the public exports https://osv-vulnerabilities.storage.googleapis.com/
#     PyPI/all.zip and …/crates.io/all.zip, fetched with curl: more advisories, more findings).
#     Before measuring, `bench/vuln:1.0` is scanned through Harbor's API (POST …/scan, then
#     …?with_scan_overview=true until Success), so its report is the registry's own: 129
#     findings with titles and links with the tests' advisories (the count goes to stderr)
#   - signed in as admin through the sign-in form with curl and a cookie jar (the form's
#     double-submit token from GET /login, then POST /login → the session cookie)
#   - each page fetched REPEAT times with `Accept-Encoding: gzip` (curl --compressed):
#     median TTFB (curl's time_starttransfer), median time to the last byte (time_total), and
#     the bytes on the wire (size_download), with the Content-Encoding the server answered
#     (none means it sent the page uncompressed)
# Pages: every page of the console — sign-in, the projects list, the `bench` project (its
# repository list, first page and page 9), a repository with 10 tags, one with 120 tags (its
# first page of 100 artifacts and its second page), an artifact, its files (one layer, the
# merged filesystem), its SBOM packages table, the scanned artifact (with its first 100
# findings; its second page of findings; only the HIGH ones) and its packages table (first page
# of 100 and the second), two tags compared, the dashboard, the audit log (first page and page
# 150), the project's policies, garbage collection, replication and jobs — and the shared
# stylesheet and script every page loads (cached for an hour).
# Then each page (not the static files) loaded BROWSER_REPEAT times (default 5) in Debian's
# chromium with an empty cache (benchmarks/_console_interactive.py, Playwright): the median of
# Navigation Timing's domInteractive (parsed, usable) and loadEventEnd (stylesheet and script in).
# The date and load average at start and end go to stderr (for RESULTS.md).
# Every process started here is stopped on exit.
# Usage: [REPEAT=n] [BROWSER_REPEAT=n] [DY_WORKERS=n] [VULNDB=dir | ADVISORIES="paths…"]
#        benchmarks/console_pages.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-15}
DY_WORKERS=${DY_WORKERS:-1}
DOCKYARD=${DOCKYARD:-$PWD/.venv/bin/dockyard}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
ADMIN_PASS=Bench-admin-1
VULNDB=${VULNDB:-../shared/testdata/vulndb}
read -r -a advisories <<<"${ADVISORIES:-$VULNDB/osv/PyPI $VULNDB/osv/crates.io}"
for path in "${advisories[@]}"; do
  [ -e "$path" ] || { echo "no advisories at $path: set VULNDB to the tests' vulndb folder, or" \
    "ADVISORIES to OSV files, folders or zips (e.g. OSV's PyPI/all.zip and crates.io/all.zip)" >&2; exit 2; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dy-console-XXXXXX")
cleanup() {
  [ -e "$WORK/dy.pid" ] && kill "$(cat "$WORK/dy.pid")" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "start: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$PYTHON" benchmarks/_make_console_store.py "$WORK/data" "$ADMIN_PASS"
"$DOCKYARD" --root "$WORK/vulndb" db import "${advisories[@]}" >&2
DY=127.0.0.1:$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DOCKYARD_ADMIN_PASSWORD=$ADMIN_PASS REGISTRY_AUTH=projects REGISTRY_AUTH_PROJECTS_PASSWORDCOST=4 \
  REGISTRY_LOG_ACCESSLOG_DISABLED=true REGISTRY_SCANNING_DB="$WORK/vulndb" REGISTRY_SCANNING_WORKERS=1 \
  "$DOCKYARD" registry serve --root "$WORK/data" --addr "$DY" --workers "$DY_WORKERS" \
  >>"$WORK/dy.log" 2>&1 &
echo $! >"$WORK/dy.pid"
for _ in $(seq 300); do
  curl -s -o /dev/null "http://$DY/v2/" && break
  sleep 0.1
done

# the registry scans bench/vuln:1.0 as it would after a push (asked through Harbor's API)
API=http://$DY/api/v2.0/projects/bench/repositories/vuln/artifacts/1.0
status=$(curl -sS -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_PASS" -X POST "$API/scan")
[ "$status" = 202 ] || { echo "scan of bench/vuln:1.0 answered $status, expected 202" >&2; exit 1; }
scan=
for _ in $(seq 600); do
  scan=$(curl -fsS -u "admin:$ADMIN_PASS" "$API?with_scan_overview=true" |
    sed -n 's/.*"scan_status": *"\([A-Za-z]*\)".*/\1/p')
  case $scan in Success | Error | Stopped) break ;; esac
  sleep 0.2
done
[ "$scan" = Success ] || { echo "scan of bench/vuln:1.0 ended as '$scan'" >&2; exit 1; }

JAR=$WORK/cookies
token=$(curl -fsS -c "$JAR" -b "$JAR" "http://$DY/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
status=$(curl -sS -o /dev/null -w '%{http_code}' -c "$JAR" -b "$JAR" \
  --data-urlencode "csrf=$token" --data-urlencode username=admin \
  --data-urlencode "password=$ADMIN_PASS" "http://$DY/login")
[ "$status" = 303 ] || { echo "sign-in answered $status, expected 303" >&2; exit 1; }

artifact=$(curl -fsS -b "$JAR" "http://$DY/projects/bench/repository?name=r500" |
  sed -n 's/.*href="\(\/projects\/bench\/artifact?[^"]*\)".*/\1/p' | head -1 | sed 's/&amp;/\&/g')
[ -n "$artifact" ] || { echo "no artifact link on the repository page" >&2; exit 1; }

query=${artifact#*\?}
scanned=$(curl -fsS -b "$JAR" "http://$DY/projects/bench/repository?name=vuln" |
  sed -n 's/.*href="\(\/projects\/bench\/artifact?[^"]*\)".*/\1/p' | head -1 | sed 's/&amp;/\&/g')
[ -n "$scanned" ] || { echo "no artifact link on bench/vuln's repository page" >&2; exit 1; }
findings=$(curl -fsS -b "$JAR" "http://$DY$scanned" | sed -n 's/.*id="vuln-count">[0-9,]* of \([0-9,]*\) findings.*/\1/p')
[ -n "$findings" ] || { echo "no findings on bench/vuln:1.0's artifact page" >&2; exit 1; }
echo "bench/vuln:1.0 scanned: $findings findings" >&2
pages=(
  "sign-in form|/login"
  "projects|/"
  "project bench, repositories page 1|/projects/bench"
  "project bench, repositories page 9|/projects/bench?page=9"
  "repository bench/r500 (10 tags)|/projects/bench/repository?name=r500"
  "repository bench/big (120 tags), page 1 (100)|/projects/bench/repository?name=big"
  "repository bench/big (120 tags), page 2 (20)|/projects/bench/repository?name=big&page=2"
  "artifact bench/r500:t9|$artifact"
  "files of layer 1|/projects/bench/files?$query&layer=1"
  "files up to layer 2 (merged)|/projects/bench/files?$query&layer=2&view=merged"
  "SBOM packages table|/projects/bench/packages?$query"
  "scanned artifact bench/vuln:1.0 ($findings findings, first 100)|$scanned"
  "its findings page 2|$scanned&page=2"
  "its findings, HIGH only|$scanned&severity=HIGH"
  "its packages (158), page 1 (100)|/projects/bench/packages?${scanned#*\?}"
  "its packages, page 2|/projects/bench/packages?${scanned#*\?}&page=2"
  "compare bench/r500 t0 with t9|/projects/bench/compare?repo=r500&a=t0&b=t9"
  "dashboard|/dashboard"
  "audit log page 1|/audit"
  "audit log page 150|/audit?page=150"
  "policies of bench|/projects/bench/policies"
  "garbage collection|/admin/gc"
  "replication|/admin/replication"
  "jobs (20 projects a page)|/admin/jobs"
  "stylesheet (once, cached)|/static/console.css"
  "script (once, cached)|/static/console.js"
)
printf '| page | HTTP | Content-Encoding | bytes transferred | bytes uncompressed | TTFB median (min–max) | last byte median |\n'
printf '|:---|---:|:---|---:|---:|---:|---:|\n'
for entry in "${pages[@]}"; do
  label=${entry%%|*} path=${entry#*|}
  times=()
  for _ in $(seq "$REPEAT"); do
    line=$(curl -sS --compressed -b "$JAR" -o "$WORK/body" -D "$WORK/headers" \
      -w '%{http_code} %{time_starttransfer} %{size_download} %{time_total}' "http://$DY$path")
    times+=("${line#* }")
  done
  code=${line%% *}
  encoding=$(tr -d '\r' <"$WORK/headers" | sed -n 's/^[Cc]ontent-[Ee]ncoding: *//p')
  plain=$(wc -c <"$WORK/body")
  printf '%s\n' "${times[@]}" | "$PYTHON" -c '
import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
ttfb = sorted(float(row[0]) * 1000 for row in rows)
total = statistics.median(float(row[2]) * 1000 for row in rows)
size = rows[-1][1]
encoding = sys.argv[3] or "none"
print(f"| {sys.argv[1]} | {sys.argv[2]} | {encoding} | {int(size):,} | "
      f"{int(sys.argv[4]):,} | {statistics.median(ttfb):.0f} ms ({ttfb[0]:.0f}–{ttfb[-1]:.0f}) | "
      f"{total:.0f} ms |")
' "$label" "$code" "$encoding" "$plain"
done
# time to interactive in a browser: every page but the two static files, a fresh cache each load
browsed=()
for entry in "${pages[@]}"; do
  case $entry in *"|/static/"*) continue ;; esac
  browsed+=("${entry%%|*}=${entry#*|}")
done
printf '\n'
"$PYTHON" benchmarks/_console_interactive.py "http://$DY" "$JAR" "${BROWSER_REPEAT:-5}" "${browsed[@]}"
echo "end: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
