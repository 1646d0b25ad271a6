#!/usr/bin/env bash
# Micro-benchmarks of issue 14 (bench/micro, ordo-one's package-benchmark): media frame header
# decode, WebSocket unmask, control-message decode/encode, media queue enqueue/drop. Each
# reports wall clock, throughput, malloc calls and (where perf events are allowed) instructions.
# Builds bench/micro in release (its own .build, not the main package's). See bench/README.md.
#
#   bash bench/micro.sh [run] [OPTIONS]          run all of them (OPTIONS: --filter REGEX, --format …)
#   bash bench/micro.sh check [OPTIONS]          the allocation gate: runs the benchmarks that have a
#                                                file in bench/micro/Thresholds and fails unless each
#                                                one's mallocCountTotal at p90 is exactly the file's
#   bash bench/micro.sh update-thresholds        rewrites those files from a run (review the diff)
#   bash bench/micro.sh baseline NAME            stores a baseline (bench/micro/.benchmarkBaselines)
#   bash bench/micro.sh compare NAME [OTHER]     compares a run (or baseline OTHER) with baseline NAME
#   bash bench/micro.sh baseline-check NAME [OTHER]  fails on regressions beyond the tolerances
#
# To gate another benchmark, add Thresholds/TandemMicro.NAME.p90.json ({"mallocCountTotal" : N},
# N counted per measured iteration: scalingFactor × per call) and give it a mallocCountTotal
# tolerance in its configuration.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/micro"
thresholds="$PWD/Thresholds"

# One --filter per threshold file: the gate runs and rewrites only the gated benchmarks.
gated_filters() {
  local file name
  for file in "$thresholds"/TandemMicro.*.p90.json; do
    [ -e "$file" ] || continue
    name=${file##*/TandemMicro.}
    name=${name%.p90.json}
    printf '%s\n' --filter "$(printf '%s' "$name" | sed 's/[][\\.*^$+?(){}|]/\\&/g')"
  done
}

command=${1:-run}
[ $# -gt 0 ] && shift
case "$command" in
  run)
    exec swift package --allow-writing-to-package-directory benchmark run "$@"
    ;;
  check)
    mapfile -t filters < <(gated_filters)
    exec swift package benchmark thresholds check --path "$thresholds" --metric mallocCountTotal "${filters[@]}" "$@"
    ;;
  update-thresholds)
    mapfile -t filters < <(gated_filters)
    exec swift package --allow-writing-to-package-directory benchmark thresholds update \
      --path "$thresholds" --metric mallocCountTotal "${filters[@]}" "$@"
    ;;
  baseline)
    exec swift package --allow-writing-to-package-directory benchmark baseline update "$@"
    ;;
  compare)
    exec swift package benchmark baseline compare "$@"
    ;;
  baseline-check)
    exec swift package benchmark baseline check "$@"
    ;;
  help | -h | --help)
    sed -n '2,18p' "$here/$(basename "$0")"
    ;;
  *)
    sed -n '2,18p' "$here/$(basename "$0")" >&2
    exit 2
    ;;
esac
