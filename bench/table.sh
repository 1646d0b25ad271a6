#!/usr/bin/env bash
# Re-measures the relay table of issue 14 with `tandem bench` (which starts its own broker
# for every case) and prints it as a markdown table: case | Tandem | goal. Release builds
# only; run on an otherwise idle machine, twice, and keep the medians.
#
#   bash bench/table.sh [TANDEM_BINARY]
#
# Environment (defaults in brackets; about 3 minutes in all with the defaults):
#   DURATION           seconds of traffic in the bulk, 200-pair, flat-out and control cases [10]
#   LEAN               1: the frames cases use the bench's own load generator (--lean);
#                      0: TandemClient, as bench/relay.sh and older builds [1]
#   IDLE_PAIRS         paired sessions of the idle-memory case [1000]
#   SETUP_PAIRS        sessions of the setup-rate case [1000]
#   CONCURRENCY        session setups in flight at once [64]
#   STALL_SECONDS      how long the slow consumer stops reading [20]
#   ROUNDS, ROUND_SESSIONS   the memory soak: rounds of sessions [10, 500]
#   CASES              which cases to run [bulk many flat control paced idle setup stall rounds]
#   OUT                directory for each case's JSON report and stderr [a new /tmp directory, kept]
set -uo pipefail

binary=${1:-.build/release/tandem}
duration=${DURATION:-10}
idle_pairs=${IDLE_PAIRS:-1000}
setup_pairs=${SETUP_PAIRS:-1000}
concurrency=${CONCURRENCY:-64}
stall_seconds=${STALL_SECONDS:-20}
rounds=${ROUNDS:-10}
round_sessions=${ROUND_SESSIONS:-500}
cases=${CASES:-bulk many flat control paced idle setup stall rounds}
out=${OUT:-$(mktemp -d /tmp/tandem-table.XXXXXX)}
mkdir -p "$out"

if [ ! -x "$binary" ]; then
  echo "no tandem binary at $binary (swift build -c release --product tandem)" >&2
  exit 1
fi

# 1000 pairs are 2000 sockets in the load generator and 2000 in the broker (its child).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

frames_flags=()
if [ "${LEAN:-1}" = 1 ]; then frames_flags=(--lean); fi

wanted() { case " $cases " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# run NAME ARGS...: one `tandem bench` run, its JSON report in $out/NAME.json.
run() {
  local name=$1
  shift
  wanted "$name" || return 0
  echo "== $name: $binary bench $* --json" >&2
  local started=$SECONDS
  if "$binary" bench "$@" --json >"$out/$name.json" 2>"$out/$name.err"; then
    echo "   done in $((SECONDS - started)) s" >&2
  else
    echo "   FAILED after $((SECONDS - started)) s; see $out/$name.err" >&2
    tail -n 5 "$out/$name.err" >&2
    rm -f "$out/$name.json"
  fi
}

run bulk --scenario frames ${frames_flags[@]+"${frames_flags[@]}"} --sessions 16 --fps 30 --size 200000 --duration "$duration"
run many --scenario frames ${frames_flags[@]+"${frames_flags[@]}"} --sessions 200 --fps 10 --size 50000 --duration "$duration" \
  --concurrency "$concurrency"
run flat --scenario flat-out --sessions 1 --size 65536 --duration "$duration"
run control --scenario control --sessions 8 --duration "$duration"
run paced --scenario control-paced --sessions 64 --message-rate 40 --duration "$duration"
run idle --scenario idle --sessions "$idle_pairs" --concurrency "$concurrency"
run setup --scenario setup --sessions "$setup_pairs" --concurrency "$concurrency"
run stall --scenario stall --stall-seconds "$stall_seconds" --fps 30 --size 200000
run rounds --scenario rounds --rounds "$rounds" --sessions "$round_sessions" --concurrency "$concurrency"

echo "JSON reports: $out" >&2
echo

python3 - "$out" "$idle_pairs" "$stall_seconds" "$rounds" "$round_sessions" "$setup_pairs" <<'PY'
import json, os, sys

out, idle_pairs, stall_seconds, rounds, round_sessions, setup_pairs = sys.argv[1:7]


def load(name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            # (Builds before 34e8848 printed the JSON with its line breaks escaped.)
            return json.loads(f.read().replace("\\n", "\n"))
    except (OSError, ValueError):
        return None


def mark(ok):
    return "" if ok is None else (" ✓" if ok else " ✗")


rows = []


def row(case, cell, goal, ok=None):
    rows.append((case, (cell if cell is not None else "not measured") + (mark(ok) if cell is not None else ""), goal))


bulk, many = load("bulk"), load("many")
cell = ok = None
if bulk and bulk["relayedMegabytesPerSecond"]:
    per_gb = (bulk["brokerCPUPercent"] / 100) / (bulk["relayedMegabytesPerSecond"] / 1000)
    cell, ok = "%.2f" % per_gb, per_gb <= 1.5
row("16 pairs × 30 fps × 200 KB: relay CPU-seconds per GB relayed", cell, "≤ 1.5", ok)

row("200 pairs × 10 fps × 50 KB: relay CPU",
    "%.0f %% of a core" % many["brokerCPUPercent"] if many else None, "— (lean Go relay: 22 %)")
cell = ok = None
if many:
    lat = many["frameLatencyMs"]
    cell, ok = "%.2f / %.2f ms" % (lat["p50"], lat["p99"]), lat["p99"] <= 1
row("same: latency the relay adds, p50 / p99", cell, "p99 ≤ 1 ms", ok)

flat = load("flat")
cell = ok = None
if flat:
    cell = "%.0f (%d of %d frames dropped)" % (flat["deliveredMegabytesPerSecond"], flat["framesDropped"], flat["framesSent"])
    ok = flat["deliveredMegabytesPerSecond"] >= 280
row("1 pair, 64 KiB frames flat out: MB/s delivered", cell, "≥ 280", ok)

control = load("control")
cell = ok = None
if control:
    cell = "{:,.0f} at {:.0f} % CPU".format(control["messagesPerSecond"], control["brokerCPUPercent"])
    ok = control["messagesPerSecond"] >= 120000
row("small control messages (~200 B) flat out, 8 pairs: messages/s", cell, "≥ 120,000", ok)
cell = ok = None
if control:
    cell, ok = "%.1f µs" % control["brokerCPUMicrosPerMessage"], control["brokerCPUMicrosPerMessage"] <= 8
row("relay CPU per small message", cell, "≤ 8 µs", ok)

paced = load("paced")
cell = ok = None
if paced:
    cell, ok = "%.0f µs a message" % paced["brokerCPUMicrosPerMessage"], paced["brokerCPUMicrosPerMessage"] <= 50
row("the same at 40 messages/s × 64 pairs (under the rate cap)", cell, "≤ 50 µs", ok)

idle = load("idle")
cell = ok = None
if idle:
    cell = "%.0f KiB (%d pairs)" % (idle["kibPerConnection"], idle["sessions"])
    ok = idle["kibPerConnection"] <= 48
row("idle paired sessions: memory per connection", cell, "≤ 48 KiB at 1,000 pairs", ok)

setup = load("setup")
cell = ok = None
if setup:
    cell, ok = "{:,.0f}".format(setup["pairsPerSecond"]), setup["pairsPerSecond"] >= 1000
row("pairs set up per second", cell, "≥ 1,000", ok)

stall = load("stall")
cell = ok = None
if stall:
    if stall["senderBlocked"]:
        cell = "blocked (%d ticks skipped, longest gap %.0f ms)" % (stall["ticksSkipped"], stall["maxSendIntervalMs"])
    else:
        cell = "never (longest gap %.0f ms)" % stall["maxSendIntervalMs"]
    ok = not stall["senderBlocked"]
row("slow consumer (receiver stalls %s s): sender blocked" % stall_seconds, cell, "never", ok)
cell = ok = None
if stall:
    receiver = stall["receiver"]
    live = receiver.get("timeToLiveMs")
    cell = "%s / %.0f ms (%d frames older than 1 s)" % (
        "never" if live is None else "%.0f ms" % live, receiver["oldestAgeAfterMs"], receiver["staleFramesAfter"])
    ok = stall["liveWithin100ms"] and stall["noFrameOlderThan1s"]
row("same, after the receiver resumes: time to a live frame / oldest frame delivered", cell, "≤ 100 ms / ≤ 1 s", ok)

soak = load("rounds")
cell = ok = None
if soak and soak["rounds"]:
    first, last = soak["rounds"][0]["rssMegabytes"], soak["rounds"][-1]["rssMegabytes"]
    cell = "%.0f → %.0f MB (%+.1f MB)" % (first, last, soak["growthMegabytes"])
    ok = soak["withinGoal"]
row("RSS after %s rounds of %s sessions, back at 0 connections: first → last round" % (rounds, round_sessions),
    cell, "last within 20 MB of the first", ok)

print("| case | Tandem | goal |")
print("|---|---:|---|")
for case, cell, goal in rows:
    print("| %s | %s | %s |" % (case, cell, goal))
PY
