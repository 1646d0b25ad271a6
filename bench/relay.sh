#!/usr/bin/env bash
# Relay efficiency cases of issue 14 that `tandem bench` can drive, with the broker's CPU
# turned into CPU-seconds per GB relayed. Release builds only.
#
#   bash bench/relay.sh [TANDEM_BINARY] [SECONDS]
#   LEAN=1 bash bench/relay.sh ...   # the bench's own load generator (`--lean`, newer builds only)
#
# Prints one line per case: sessions × fps × bytes, delivered, MB/s, broker CPU %, CPU-s/GB,
# frame latency p50/p99 (ms), peak RSS. Run it twice on an idle machine and keep the medians.
# bench/table.sh runs every case of issue 14's table, these included.
set -euo pipefail
binary=${1:-.build/release/tandem}
seconds=${2:-15}
lean=()
if [ "${LEAN:-0}" = 1 ]; then lean=(--lean); fi
run_case() {
  local sessions=$1 fps=$2 size=$3
  "$binary" bench ${lean[@]+"${lean[@]}"} --sessions "$sessions" --fps "$fps" --size "$size" --duration "$seconds" --json | python3 -c '
import json, sys
# (Builds before 34e8848 printed the JSON with its line breaks escaped.)
r = json.loads(sys.stdin.read().replace("\\n", "\n"))
mbps, cpu, lat = r["relayedMegabytesPerSecond"], r["brokerCPUPercent"], r["frameLatencyMs"]
per_gb = (cpu / 100) / (mbps / 1000) if mbps else float("nan")
print("%4d x %3.0f fps x %6d B: %d/%d frames, %6.1f MB/s, broker %5.1f %% CPU, %5.2f CPU-s/GB, latency p50 %.2f / p99 %.2f ms, peak RSS %.0f MB" % (
    r["sessions"], r["fps"], r["frameBytes"], r["framesReceived"], r["framesSent"], mbps, cpu, per_gb, lat["p50"], lat["p99"], r["brokerPeakRSSMegabytes"]))
'
}

run_case 16 30 200000
run_case 4 30 200000
# Hundreds of sessions from one host need the caps that `tandem bench` raises from 34e8848 on.
if [ "${BENCH_MANY:-1}" = 1 ]; then run_case 200 10 50000; fi
