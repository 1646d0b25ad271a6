#!/usr/bin/env bash
# Runs every Tandem test, installing what the tests need on a fresh machine:
#   1. prerequisites (openssl from Debian; websockets and jsonschema from PyPI)
#   2. the protocol vectors against the JSON Schemas
#   3. swift build, then the CLI walkthrough of README.md against a real broker
#   4. swift test (Swift Testing: codecs, state machines, SQLite store, live TLS broker,
#      the Python interop client)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

log "prerequisites"
if ! command -v openssl >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl
fi
if ! python3 -c 'import websockets, jsonschema, referencing' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore websockets jsonschema
fi
python3 -c 'import websockets; print("python websockets", websockets.__version__)'

log "protocol vectors against the schemas"
python3 protocol/vectors/check_schemas.py

log "swift build"
swift build

log "CLI walkthrough against a real broker"
bash scripts/walkthrough-test.sh .build/debug/tandem

log "swift test"
swift test
