#!/usr/bin/env bash
# Autobahn|Testsuite fuzzingclient, core cases 1-7 and 10, against the broker's /v1/echo
# over wss. Every case must come out OK, NON-STRICT or INFORMATIONAL (behaviour and close);
# wstest itself always exits 0, so this reads its index.json. Reports are copied to
# test-artifacts/autobahn (open index.html).
#
# The suite is Python 2 only: it runs under pyenv's Python 2.7 in a virtualenv made on
# first use (TANDEM_AUTOBAHN_VENV, default /tmp/tandem-autobahn). Without Python 2.7 this
# step says so and is skipped; nothing else is.
# usage: scripts/autobahn.sh PATH/TO/tandem
set -euo pipefail
tandem=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
py27=${TANDEM_PY27:-/root/.pyenv/versions/2.7.18/bin/python2.7}
venv=${TANDEM_AUTOBAHN_VENV:-/tmp/tandem-autobahn}

if [ ! -x "$py27" ]; then
  echo "autobahn: SKIPPED - Python 2.7 not found at $py27 (the Autobahn suite needs Python 2; set TANDEM_PY27)"
  exit 0
fi
if [ ! -x "$venv/py27/bin/wstest" ]; then
  echo "autobahn: installing the suite into $venv (pinned versions)"
  python3 -m venv "$venv/bootstrap"
  "$venv/bootstrap/bin/pip" install --quiet --disable-pip-version-check "virtualenv<20.22"
  "$venv/bootstrap/bin/virtualenv" --quiet -p "$py27" "$venv/py27"
  "$venv/py27/bin/pip" install --quiet --disable-pip-version-check --no-python-version-warning \
    autobahntestsuite==25.10.1 setuptools==44.0.0 txaio==2.1.0 incremental==16.10.1 \
    pyOpenSSL==19.1.0 cryptography==3.3.2 Twisted==19.10.0 zope.interface==4.6.0 jinja2==2.11.3 markupsafe==1.1.1 \
    Werkzeug==1.0.1 klein==17.10.0 service_identity==18.1.0 unittest2==1.1.0 six==1.16.0 "autobahn[accelerate,twisted]==0.10.9"
fi

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
"$tandem" serve --port 0 --data-dir ./data > serve.log 2>&1 &
pid=$!
port=""
for _ in $(seq 1 100); do
  if port=$(grep -o 'listening on https://[^ ]*:[0-9]*' serve.log | grep -o '[0-9]*$'); then break; fi
  sleep 0.1
done
[ -n "$port" ] || { cat serve.log >&2; exit 1; }

cat > spec.json <<SPEC
{"options": {"failByDrop": false}, "outdir": "./reports/servers",
 "servers": [{"agent": "tandem", "url": "wss://127.0.0.1:$port/v1/echo", "hostname": "localhost"}],
 "cases": ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"], "exclude-cases": [], "exclude-agent-cases": {}}
SPEC
SSL_CERT_FILE=data/certs/ca.pem timeout 600 "$venv/py27/bin/wstest" -m fuzzingclient -s spec.json > wstest.log 2>&1 || {
  tail -20 wstest.log >&2
  echo "autobahn: wstest did not finish" >&2
  exit 1
}
rm -rf "$repo/test-artifacts/autobahn"
mkdir -p "$repo/test-artifacts"
cp -r reports/servers "$repo/test-artifacts/autobahn"

python3 - reports/servers/index.json <<'PY'
import collections, json, sys
cases = json.load(open(sys.argv[1]))["tandem"]
good = {"OK", "NON-STRICT", "INFORMATIONAL"}
tally = collections.Counter(result["behavior"] for result in cases.values())
bad = sorted((case, r["behavior"], r["behaviorClose"]) for case, r in cases.items()
             if r["behavior"] not in good or r["behaviorClose"] not in good)
expected = 247  # cases 1-7 and 10 of autobahntestsuite 25.10.1
print(f"autobahn: {len(cases)} cases: " + ", ".join(f"{n} {b}" for b, n in sorted(tally.items())))
for case, behavior, close in bad:
    print(f"FAIL case {case}: behavior {behavior}, close {close}")
if len(cases) != expected:
    print(f"FAIL expected {expected} cases, the report has {len(cases)}")
sys.exit(1 if bad or len(cases) != expected else 0)
PY
