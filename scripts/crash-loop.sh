#!/usr/bin/env bash
# kill -9 loop, longer than the test suite's 50 rounds: starts `tandem serve` as a child
# process, runs sessions against it (start, join, consent, stream, freeze, end), kills it
# with SIGKILL at a random moment, restarts, and after the last round checks that every
# event a client was told about is in the log, no session is open, crashed sessions end
# at their last activity, and the hash chain and signed checkpoints verify.
#
# usage: scripts/crash-loop.sh [ITERATIONS]   (default 500; about 0.35 s per round)
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-500}
swift build --build-tests
TANDEM_CRASH_ITERATIONS=$iterations TANDEM_BINARY="$PWD/.build/debug/tandem" \
  .build/debug/tandemPackageTests.xctest --testing-library swift-testing --filter CrashLoopTests
