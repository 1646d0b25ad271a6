#!/usr/bin/env bash
# Runs every Tandem test, installing what the tests need on a fresh machine:
#   1. prerequisites (openssl, chromium, chromium-driver and ffmpeg from Debian; websockets,
#      jsonschema and selenium from PyPI)
#   2. the protocol vectors against the JSON Schemas, and the source format (.swift-format)
#   3. swift build, then the CLI walkthrough of README.md against a real broker
#   4. the browser pages in real Chromium (codec against the vectors, pairing, annotations,
#      consent, expired codes; screenshots in test-artifacts/browser), then video and voice
#      between them (WebCodecs, a generated 720p camera clip, tones as microphones)
#   5. Autobahn|Testsuite fuzzingclient (cases 1-7, 10) against /v1/echo over wss
#      (skipped, saying so, when Python 2.7 is absent)
#   6. libFuzzer on the frame and control-message decoders, 20 s each
#   7. swift test (Swift Testing; the attack suites afterwards, one test at a time: codecs, state machines, the store suite on SQLite and on a
#      PostgreSQL server started here (Debian's postgresql, installed when missing), the
#      live TLS broker, the Python interop client, the kill -9 loop)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

log "prerequisites"
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
# The C device client (Sources/tandem-device) builds on these.
# zlib1g-dev: ZIPFoundation (evidence bundles) links zlib.
for package in libwebsockets-dev libcjson-dev libssl-dev zlib1g-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! python3 -c 'import websockets, jsonschema, referencing, selenium, schemathesis, openapi_spec_validator, cryptography' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore websockets jsonschema selenium schemathesis openapi-spec-validator cryptography
fi
chromium --version
python3 -c 'import websockets; print("python websockets", websockets.__version__)'

log "protocol vectors against the schemas"
python3 protocol/vectors/check_schemas.py
# The standalone evidence-bundle verifier against the Merkle vectors (bundles: EvidenceBundleTests).
python3 protocol/verify_bundle.py --self-test

log "source format (.swift-format: swift format lint --strict)"
# The formatter ships with the toolchain; `swift format format --in-place FILES` fixes most findings.
git ls-files -z '*.swift' | xargs -0 swift format lint --strict --parallel

log "swift build"
swift build

log "PostgreSQL for the store suite and the walkthrough"
pgdir=$(mktemp -u -d /tmp/tandem-pg-XXXXXX)
device_build=""
# One handler for everything to clean up (a second `trap … EXIT` would replace the first).
cleanup() {
  bash scripts/test-postgres.sh stop "$pgdir" || true
  if [ -n "$device_build" ]; then rm -rf "$device_build"; fi
}
trap cleanup EXIT
TANDEM_TEST_POSTGRES_URL=$(bash scripts/test-postgres.sh start "$pgdir")
export TANDEM_TEST_POSTGRES_URL
echo "PostgreSQL at ${TANDEM_TEST_POSTGRES_URL%%\?*}"

log "CLI walkthrough against a real broker (SQLite, then PostgreSQL)"
bash scripts/walkthrough-test.sh .build/debug/tandem

log "browser pages in Chromium"
python3 Tests/browser/browser_test.py .build/debug/tandem

log "video and voice between the pages in Chromium (WebCodecs, fake camera clip and tones)"
python3 Tests/browser/media_test.py .build/debug/tandem

log "the support floor in Chromium: presence and offers in the console, /floor updating, transfer with a reason, callbacks"
python3 Tests/browser/floor_test.py .build/debug/tandem

log "the audit review in Chromium: sessions with filters, a timeline, a recording played, charts, the verify badge, the evidence bundle"
python3 Tests/browser/audit_test.py .build/debug/tandem

log "anchored annotations in Chromium: a generated camera clip with known motion, tracked on the customer's page"
python3 Tests/browser/anchor_test.py .build/debug/tandem

log "tandem-device (C on libwebsockets): frame vectors, unit tests, a live session with the Swift agent, valgrind"
# `swift build` above built it as a SwiftPM target; build.sh compiles the same sources with cc
# -Werror for the C tests, and for valgrind (3.19 cannot read the DWARF 5 of Swift's clang).
device_build=$(mktemp -d /tmp/tandem-device-build.XXXXXX)
sh Tests/device/build.sh "$device_build"
"$device_build/vectors_test" protocol/vectors/frames.json
"$device_build/unit_test"
python3 Tests/device/device_test.py .build/debug/tandem "$device_build/tandem-device" "$device_build/unit_test"
rm -rf "$device_build"

log "HTTPS API: protocol/openapi.yaml validated, then Schemathesis against a live broker (agent, auditor, admin)"
python3 -c "from openapi_spec_validator import validate; from openapi_spec_validator.readers import read_from_filename; d, u = read_from_filename('protocol/openapi.yaml'); validate(d, base_uri=u); print('protocol/openapi.yaml: valid OpenAPI 3.1')"
python3 Tests/api/schemathesis_test.py .build/debug/tandem

log "deploy/: systemd unit (systemd-analyze, confined run), config example, Grafana dashboard, Containerfile"
TANDEM_BIN=.build/debug/tandem bash Tests/deploy/check_all.sh

log "Autobahn|Testsuite against /v1/echo"
bash scripts/autobahn.sh .build/debug/tandem

log "libFuzzer: frame and control-message decoders"
bash scripts/fuzz.sh 20

# The attack suites (floods from many loopback addresses, hundreds of connections, a child
# broker's memory) and the live tests that time a wait (a throttled join's retryAfter, a
# half-open connection found within two ping intervals, a hello answered after its deadline)
# run after the rest, one test at a time, so that neither they nor the other live tests are
# starved of the machine's two cores.
attacks='AdmissionTests|ClosingPeerTests|CustomerLogBudgetTests|RequestContextReleaseTests|QueueAbuseTests|JoinLockoutTests|OverlayMemoryTests|ResumeTests/halfOpen|RefusalTests/networkBackoff|RefusalTests/slowHandling'
# Suites that start dozens of programs (the CLI, the Python verifier) would starve the parallel
# run on two cores: they run one at a time too.
attacks="$attacks|EvidenceBundleTests|AuditAnchorTests"
log "swift test (everything but the attack suites, in parallel)"
# At most 16 tests at once: with all ~380 started together on two cores, live brokers miss
# their 10 s hello deadlines in some runs (swift-testing's own width setting).
SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=16 swift test --skip "$attacks"
log "swift test (attack suites, one at a time)"
swift test --skip-build --filter "$attacks" --no-parallel
