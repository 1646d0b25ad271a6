#!/usr/bin/env bash
# libFuzzer runs of the decoders that read untrusted bytes: binary media frames, JSON
# control messages and recording entries (Tests/fuzz, built with swiftc -sanitize=fuzzer,address).
# Each target runs for SECONDS (default 30), seeded with the protocol test vectors; a
# crash, a broken invariant, a leak or a 10-second input fails the run and leaves the
# input in test-artifacts/fuzz/. The corpus grows in test-artifacts/fuzz/corpus/ and is
# reused by the next run.
# usage: scripts/fuzz.sh [SECONDS]        e.g. scripts/fuzz.sh 3600 for a long run
set -euo pipefail
seconds=${1:-30}
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/test-artifacts/fuzz"
mkdir -p "$out/corpus/FuzzMediaFrame" "$out/corpus/FuzzControlMessage" "$out/corpus/FuzzRecording"

echo "fuzz: building the targets (release, -sanitize=fuzzer,address)"
swift build --package-path "$repo/Tests/fuzz" -c release \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | grep -v "Cannot export local symbol" | tail -1
bin=$(swift build --package-path "$repo/Tests/fuzz" -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --show-bin-path)

# Seeds: every frame and control message of protocol/vectors; a dictionary of JSON tokens.
python3 - "$repo/protocol/vectors" "$out" <<'PY'
import hashlib, json, os, re, sys
vectors, out = sys.argv[1], sys.argv[2]
def seed(target, data):
    with open(os.path.join(out, "corpus", target, "seed-" + hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
frames = json.load(open(os.path.join(vectors, "frames.json")))
for group in frames.values():
    for vector in group:
        seed("FuzzMediaFrame", bytes.fromhex(vector["hex"]))
recording = json.load(open(os.path.join(vectors, "recording.json")))
for group in recording.values():
    for vector in group:
        seed("FuzzRecording", bytes.fromhex(vector["hex"])[8:])
control = json.load(open(os.path.join(vectors, "control.json")))
tokens = set()
for group in control.values():
    for vector in group:
        seed("FuzzControlMessage", vector["json"].encode())
        tokens.update(re.findall(r'"[^"\\]{1,40}"', vector["json"]))
def entry(token):  # libFuzzer dictionary syntax: "..." with \\, \" and \xNN escapes
    escaped = "".join(
        "\\" + chr(b) if chr(b) in '"\\' else chr(b) if 32 <= b < 127 else "\\x%02x" % b for b in token.encode()
    )
    return '"' + escaped + '"'
with open(os.path.join(out, "control.dict"), "w") as f:
    for token in sorted(tokens) + ["{", "}", "[", "]", ":", ",", "null", "true", "false", "1e309", "-0", "\\u0000"]:
        f.write(entry(token) + "\n")
PY

status=0
for target in FuzzMediaFrame FuzzControlMessage FuzzRecording; do
  dict=()
  [ "$target" = FuzzControlMessage ] && dict=(-dict="$out/control.dict")
  echo "fuzz: $target for ${seconds}s"
  if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1 timeout -s KILL $((seconds + 120)) \
    "$bin/$target" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$out/$target-" "$out/corpus/$target" > "$out/$target.log" 2>&1; then
    grep -E "^Done|stat::number_of_executed_units|cov:" "$out/$target.log" | tail -2
  else
    status=1
    echo "FAIL $target: see $out/$target.log and the input $out/$target-*" >&2
    grep -E "ERROR|Fatal error|Precondition|SUMMARY" "$out/$target.log" | head -5 >&2 || tail -20 "$out/$target.log" >&2
  fi
done
exit $status
