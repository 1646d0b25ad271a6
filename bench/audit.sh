#!/usr/bin/env bash
# Issue 19's scale benchmark: an audit log of EVENTS events (default 1,000,000) appended
# through the store API (`tandem bench audit-log`: sessions of 10 events, 16 at once) while
# a broker on the same log signs a checkpoint and its Merkle tree head every 10 s
# (CHECKPOINT_INTERVAL seconds; the broker's default is 60) (so the
# append rate is measured with Merkle checkpoints on), then, on the full log:
#   - the broker's memory (its in-memory tree is 64 bytes an event);
#   - a signed tree head, an inclusion and a consistency proof over HTTPS: time and size;
#   - `tandem audit bundle` of the last session: time and size;
#   - `tandem audit verify --bundle` (offline): time;
#   - `tandem audit verify` (the whole chain, checkpoints and tree heads): time;
#   - `tandem audit verify --against` the anchor file (every head recorded): time.
#
#   bash bench/audit.sh [EVENTS] [postgres://…]     (SQLite in a temporary data directory without a URL)
#
# TANDEM_BIN picks the binary (default .build/release/tandem; build it with
# `swift build -c release --product tandem`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TANDEM_BIN:-$root/.build/release/tandem}
events=${1:-1000000}
database=${2:-}
work=$(mktemp -d /tmp/tandem-audit-bench-XXXXXX)
data="$work/data"
store=(--data-dir "$data")
[ -n "$database" ] && store+=(--database "$database")
seconds() { python3 -c 'import sys, time; print(f"{time.monotonic():.3f}")'; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

interval=${CHECKPOINT_INTERVAL:-10}
"$bin" serve --port 0 "${store[@]}" --checkpoint-interval "$interval" --audit-anchor-file "$work/heads.jsonl" > "$work/serve.log" 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 300); do
  port=$(grep -o 'listening on https://[^ ]*:[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' | head -1 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log"; exit 1; }
export TANDEM_SERVER="https://127.0.0.1:$port" TANDEM_CA="$data/certs/ca.pem"
TANDEM_TOKEN=$("$bin" users add "audrey$$" --role auditor "${store[@]}" | tail -1)
export TANDEM_TOKEN

kind=SQLite
[ -n "$database" ] && kind=PostgreSQL
echo "== appending $events events ($kind), checkpoints every $interval s"
"$bin" bench audit-log "${store[@]}" --events "$events" | tee "$work/append.txt"
# One more checkpoint, so that a head covers the whole log.
sleep $((interval + 2))
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$serve_pid/status")

head_started=$(seconds)
curl -sk -H "Authorization: Bearer $TANDEM_TOKEN" "$TANDEM_SERVER/v1/audit/tree-head" > "$work/head.json"
head_done=$(seconds)
size=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["size"])' "$work/head.json")
first=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["firstSeq"])' "$work/head.json")
middle=$((first + size / 2))
proof_started=$(seconds)
curl -sk -H "Authorization: Bearer $TANDEM_TOKEN" "$TANDEM_SERVER/v1/audit/proofs/inclusion?seq=$middle" > "$work/inclusion.json"
proof_done=$(seconds)
curl -sk -H "Authorization: Bearer $TANDEM_TOKEN" "$TANDEM_SERVER/v1/audit/proofs/consistency?from=$((size / 3))" > "$work/consistency.json"
consistency_done=$(seconds)
hashes=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["path"]))' "$work/inclusion.json")

session=$("$bin" audit sessions --limit 1 --json | python3 -c 'import json, sys; d = json.load(sys.stdin); print((d["sessions"] if isinstance(d, dict) else d)[0]["id"])')
bundle_started=$(seconds)
"$bin" audit bundle "$session" -o "$work/bundle.zip" > /dev/null
bundle_done=$(seconds)
"$bin" audit verify --bundle "$work/bundle.zip" --key "$data/audit-signing.pub.pem" > "$work/verify-bundle.txt"
verify_bundle_done=$(seconds)
"$bin" audit verify > "$work/verify.txt"
verify_done=$(seconds)
"$bin" audit verify --against "$work/heads.jsonl" --key "$data/audit-signing.pub.pem" > "$work/against.txt"
against_done=$(seconds)
event_path=$(python3 -c '
import json, sys, zipfile
events = json.loads(zipfile.ZipFile(sys.argv[1]).read("events.json"))["events"]
print(len(events[0]["path"]))' "$work/bundle.zip")

echo
echo "| measure | value |"
echo "|---|---:|"
echo "| events in the log (tree size) | $size |"
echo "| append rate with Merkle checkpoints on | $(sed -n 's/.*: \([0-9]*\) events\/s.*/\1/p' "$work/append.txt" | tail -1) events/s |"
echo "| broker RSS after the log was built (tree in memory) | $((rss_kb / 1024)) MiB |"
echo "| signed tree head over HTTPS | $(elapsed "$head_started" "$head_done") s |"
echo "| inclusion proof over HTTPS (event #$middle) | $(elapsed "$head_done" "$proof_done") s, $hashes hashes, $(wc -c < "$work/inclusion.json") bytes of JSON |"
echo "| consistency proof over HTTPS (from $((size / 3))) | $(elapsed "$proof_done" "$consistency_done") s, $(wc -c < "$work/consistency.json") bytes of JSON |"
echo "| \`audit bundle\` (10 events, no recording) | $(elapsed "$bundle_started" "$bundle_done") s, $(wc -c < "$work/bundle.zip") bytes, $event_path hashes a proof |"
echo "| \`audit verify --bundle\` (offline) | $(elapsed "$bundle_done" "$verify_bundle_done") s |"
echo "| \`audit verify\` (whole chain, checkpoints, tree heads) | $(elapsed "$verify_bundle_done" "$verify_done") s |"
echo "| \`audit verify --against\` ($(grep -c . "$work/heads.jsonl") recorded heads) | $(elapsed "$verify_done" "$against_done") s |"
grep -q '^intact' "$work/verify.txt" || { echo "audit verify did not say intact:"; cat "$work/verify.txt"; exit 1; }
grep -q '^ok recording' "$work/verify-bundle.txt" || { cat "$work/verify-bundle.txt"; exit 1; }
rm -rf "$work"
