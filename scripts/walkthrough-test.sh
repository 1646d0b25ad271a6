#!/usr/bin/env bash
# The README's 60-second walkthrough, run for real: serve, users add, session start, join,
# session end, audit. Also checks the TLS options of `tandem serve`.
# usage: scripts/walkthrough-test.sh PATH/TO/tandem
set -euo pipefail
tandem=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
passed=0
failed=0
check() { # check NAME COMMAND...
  if "${@:2}"; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1"; fi
}

wait_for_port() { # wait_for_port LOGFILE -> prints the port
  for _ in $(seq 1 100); do
    if port=$(grep -o 'listening on https\?://[^ ]*:[0-9]*' "$1" | grep -o '[0-9]*$'); then echo "$port"; return 0; fi
    sleep 0.1
  done
  cat "$1" >&2
  return 1
}

# 1. Zero-configuration broker: dev CA + certificate, SQLite under ./tandem-data.
"$tandem" serve --port 0 > serve.log 2>&1 &
pids+=($!)
serve_pid=$!
port=$(wait_for_port serve.log)
export TANDEM_SERVER="https://127.0.0.1:$port"
check "serve creates the dev CA and prints the fingerprint" grep -q 'SHA-256 fingerprint: *[0-9A-F:]\{95\}' serve.log
check "serve creates the SQLite database" test -f tandem-data/tandem.sqlite
check "dev keys are private" test "$(stat -c %a tandem-data/certs/server.key.pem)" = 600
check "the data directory is the broker user's only" test "$(stat -c %a tandem-data)" = 700
check "a second serve on the same data directory exits 1 and names the first" bash -c \
  "timeout 20 '$tandem' serve --port 0 > second.log 2>&1; test \$? = 1 && grep -q 'another broker (pid $serve_pid) is running' second.log"
fingerprint=$(grep 'SHA-256 fingerprint' serve.log | awk '{print $3}')
served=$(openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | cut -d= -f2)
check "the printed fingerprint is the served certificate's" test "$fingerprint" = "$served"
check "serve prints the join-code guessing bound, at most 1e-6 a day" grep -Eq "Join codes: +12 digits, at most 100 unused, at most 8700 wrong codes checked a day: chance of a guess 8\.7e-07 per day" serve.log

# 2. Users: the token is printed once, only its hash is stored.
agent_token=$("$tandem" users add alice --role agent | tail -1)
auditor_token=$("$tandem" users add audrey --role auditor | tail -1)
admin_token=$("$tandem" users add root --role admin | tail -1)
check "users add prints a token" grep -q '^tdm_' <<<"$agent_token"
check "the token is not in the database" bash -c "! grep -q '$agent_token' tandem-data/tandem.sqlite*"
check "a duplicate user is refused" bash -c "! '$tandem' users add alice --role agent 2>/dev/null"

# 3. The agent starts a session and stays attached; the customer joins with the code.
TANDEM_TOKEN=$agent_token "$tandem" session start --ticket HD-1042 --mode camera --source pattern --fps 5 > agent.log 2>&1 &
pids+=($!)
agent_pid=$!
for _ in $(seq 1 100); do grep -q 'Join code' agent.log && break; sleep 0.1; done
code=$(grep 'Join code' agent.log | awk '{print $3}')
link=$(grep 'Join link' agent.log | awk '{print $3}')
session=$(grep -o 's_[a-z0-9]*' agent.log | head -1)
check "session start prints a grouped 12-digit code" grep -Eq '^[0-9]{3}-[0-9]{3}-[0-9]{3}-[0-9]{3}$' <<<"$code"
check "session start prints the join link and expiry" grep -q 'Expires:' agent.log
check "the join link carries its 128-bit key in the fragment (#k=, 22 base64url characters)" grep -Eq '/j/[0-9]{12}#k=[A-Za-z0-9_-]{22}$' <<<"$link"
link_key=${link##*#k=}
check "the join link serves the customer page under a strict CSP" bash -c "curl -sk '$link' | grep -q 'Tandem support session' && curl -sk -D - -o /dev/null '$link' | grep -qi \"content-security-policy: default-src 'none'; script-src 'self'\""
"$tandem" join "$link" --consent yes --source pattern:320x240 --fps 20 --max-frames 200 > customer.log 2>&1 &
pids+=($!)
customer_pid=$!
sleep 3
check "the customer sees the agent and ticket" grep -q "Joined alice's session for ticket HD-1042" customer.log
check "the agent sees the customer join" grep -q 'customer joined' agent.log
check "the agent sees the customer's consent" grep -q 'the customer agreed to share its camera' agent.log
check "the link's key is in neither the database nor the broker's log" bash -c "! grep -q -- '$link_key' tandem-data/tandem.sqlite* serve.log"
check "join without a terminal asks for --consent" bash -c "! '$tandem' join 111-222-333-444 </dev/null 2>consent.err && grep -q 'pass --consent yes or --consent no' consent.err"
TANDEM_TOKEN=$agent_token "$tandem" session end "$session" --outcome escalated --note "needs line 2" > end.log
wait "$agent_pid" || true
wait "$customer_pid" || true
check "session end reports the ending" grep -q 'ended: ended-via-api, outcome escalated' end.log
check "the attached agent shows the end" grep -q 'session ended: ended-via-api' agent.log
check "the agent saw frames stream in" grep -q 'streaming: in' agent.log
check "a used code is refused" bash -c "! '$tandem' join '$code' --consent yes 2>join-again.err && grep -q 'already used' join-again.err"
check "a wrong code is refused" bash -c "! '$tandem' join 000-000-000-000 --consent yes 2>join-wrong.err && grep -q 'not valid' join-wrong.err"

# 3b. A second session: the customer streams image files from a folder; the agent ends
#     it with Ctrl-C (SIGINT) and --outcome.
python3 - frames <<'PY'
import os, struct, sys, zlib
os.makedirs(sys.argv[1], exist_ok=True)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for i in range(3):
    raw = b"".join(b"\x00" + bytes([i * 80, 40, 200 - i * 60]) * 64 for _ in range(48))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(os.path.join(sys.argv[1], f"frame{i}.png"), "wb").write(png)
open(os.path.join(sys.argv[1], "notes.txt"), "w").write("not an image")
PY
TANDEM_TOKEN=$agent_token "$tandem" session start --ticket HD-2001 --outcome resolved --note "walked through it" > agent2.log 2>&1 &
pids+=($!)
agent2_pid=$!
for _ in $(seq 1 100); do grep -q 'Join code' agent2.log && break; sleep 0.1; done
code2=$(grep 'Join code' agent2.log | awk '{print $3}')
"$tandem" join "$code2" --consent yes --source frames --fps 10 > customer2.log 2>&1 &
pids+=($!)
customer2_pid=$!
for _ in $(seq 1 100); do grep -q 'customer joined' agent2.log && break; sleep 0.1; done
sleep 1.5
kill -INT "$agent2_pid"
wait "$agent2_pid" || true
wait "$customer2_pid" || true
check "Ctrl-C ends the session with the given outcome" grep -q 'session ended: agent-ended, outcome resolved' agent2.log
check "the customer is told the session ended" grep -q 'Session ended (agent-ended)' customer2.log
check "a folder without images is refused" bash -c "! '$tandem' join '$code2' --consent yes --source '$work/pem-missing' 2>/dev/null"

# 3c. Annotations from a script, both ways, and saved frames.
cat > agent-script.jsonl <<'JSONL'
# the agent points at the customer's camera stream 1
{"type":"annotation","op":"add","owner":"customer","streamId":1,"shape":{"id":"a1","kind":"arrow","color":"#ff3b30","width":4,"points":[[0.2,0.8],[0.5,0.5]]}}
{"type":"freeze","owner":"customer","streamId":1,"sequence":3}
{"sleepMs":300}
{"type":"chat","text":"That port, the yellow one"}
JSONL
echo '{"type":"annotation","op":"add","owner":"customer","streamId":1,"shape":{"id":"c1","kind":"ellipse","color":"#00aaff","width":3,"points":[[0.4,0.4],[0.6,0.6]]}}' > customer-script.jsonl
TANDEM_TOKEN=$agent_token "$tandem" session start --ticket HD-3003 --mode camera --annotations agent-script.jsonl --source pattern --save-frames agent-frames --outcome resolved > agent3.log 2>&1 &
pids+=($!)
agent3_pid=$!
for _ in $(seq 1 100); do grep -q 'Join code' agent3.log && break; sleep 0.1; done
code3=$(grep 'Join code' agent3.log | awk '{print $3}')
"$tandem" join "$code3" --consent yes --source pattern --fps 10 --max-frames 30 --save-frames customer-frames --annotations - < customer-script.jsonl > customer3.log 2>&1 &
pids+=($!)
customer3_pid=$!
wait "$customer3_pid" || true
wait "$agent3_pid" || true
check "the customer sees the agent's arrow, freeze and chat" bash -c "grep -q 'agent drew arrow a1 on customer stream 1' customer3.log && grep -q 'agent froze customer stream 1 at frame 3' customer3.log && grep -q 'agent: That port' customer3.log"
check "the agent sees the customer's stream and ellipse" bash -c "grep -q 'customer started stream 1: camera png 320x240' agent3.log && grep -q 'customer drew ellipse c1' agent3.log"
check "the agent saved the customer's frames" bash -c "ls agent-frames | grep -q '^customer-s1-0000000000.png$'"
check "the customer saved the agent's frames" bash -c "ls customer-frames | grep -q '^agent-s1-.*\.png$'"

# 3e. Recording: the agent asks, the customer is told and agrees; replay checks the file
#     against the SHA-256 in the audit log and exports each frame with its annotations.
TANDEM_TOKEN=$agent_token "$tandem" session start --ticket HD-5005 --mode camera --record --annotations agent-script.jsonl --outcome resolved > agent5.log 2>&1 &
pids+=($!)
agent5_pid=$!
for _ in $(seq 1 100); do grep -q 'Join code' agent5.log && break; sleep 0.1; done
check "session start --record says the session is recorded if the customer agrees" grep -q 'Recording:  on, if the customer agrees' agent5.log
code5=$(grep 'Join code' agent5.log | awk '{print $3}')
session5=$(grep -o 's_[a-z0-9]*' agent5.log | head -1)
"$tandem" join "$code5" --consent yes --source pattern --fps 10 --max-frames 25 > customer5.log 2>&1 &
pids+=($!)
customer5_pid=$!
wait "$customer5_pid" || true
wait "$agent5_pid" || true
check "the customer is told the session is recorded and agrees" bash -c "grep -q 'This session is recorded' customer5.log && grep -q 'You agreed to the recording' customer5.log"
check "the agent sees the customer's agreement to the recording" grep -q 'agreed to share its camera and to the recording' agent5.log
TANDEM_TOKEN=$auditor_token "$tandem" replay "$session5" --out replay5 > replay5.log 2>&1
check "replay checks the recording against the audit log and exports frames" bash -c "grep -q 'matches the audit log (sha256 [0-9a-f]\{64\}' replay5.log && test \$(ls replay5/frames | wc -l) -ge 20 && test -f replay5/$session5.tdrec"
check "the exported frames have the agent's arrow drawn on them" bash -c "grep -l '<line ' replay5/annotated/customer-s1-*.svg | grep -q svg && grep -q 'href=\"../frames/customer-s1-' replay5/annotated/customer-s1-0000000020.svg"
TANDEM_TOKEN=$auditor_token "$tandem" audit show "$session5" > show5.txt
check "the recording's hash is in the audit chain" bash -c "grep -q 'recording.started' show5.txt && grep -q \"recording.closed  broker .*sha256=\$(sha256sum tandem-data/recordings/$session5.tdrec | cut -c1-64)\" show5.txt"
# The session's evidence bundle (§11.9), checked offline by the CLI and by the spec's Python verifier.
TANDEM_TOKEN=$auditor_token "$tandem" audit bundle "$session5" -o bundle5.zip > bundle5.log 2>&1
check "audit bundle writes the recorded session's evidence bundle" bash -c "grep -q '^wrote bundle5.zip' bundle5.log && python3 -c 'import sys, zipfile; n = set(zipfile.ZipFile(sys.argv[1]).namelist()); sys.exit(0 if {\"manifest.json\", \"events.json\", \"summary.html\", \"public-key.pem\", \"recording/$session5.tdrec\"} <= n else 1)' bundle5.zip"
check "audit verify --bundle checks it offline with the broker's key" bash -c "'$tandem' audit verify --bundle bundle5.zip --key tandem-data/audit-signing.pub.pem > verify5.txt && grep -q '^ok completeness (sessionSeq 1-[0-9]*)' verify5.txt && grep -q '^ok recording (recording/' verify5.txt"
check "protocol/verify_bundle.py agrees" python3 "$repo/protocol/verify_bundle.py" bundle5.zip --key tandem-data/audit-signing.pub.pem
printf 'X' | dd of="tandem-data/recordings/$session5.tdrec" bs=1 seek=100 conv=notrunc status=none
TANDEM_TOKEN=$auditor_token "$tandem" audit bundle "$session5" -o bundle5b.zip > /dev/null 2>&1
check "a bundle of the changed recording fails its recording check (exit 1)" bash -c "'$tandem' audit verify --bundle bundle5b.zip > verify5b.txt; test \$? = 1 && grep -q '^FAILED recording: recording/$session5.tdrec is not the recording' verify5b.txt"
check "a changed recording is refused by replay" bash -c "! TANDEM_TOKEN='$auditor_token' '$tandem' replay '$session5' --out replay5b 2>replay5b.err && grep -q 'does not match the audit log' replay5b.err"
check "the player page is served" bash -c "curl -sk '$TANDEM_SERVER/replay' | grep -q 'Tandem recording player'"

# 3d. No code: customers wait in the queue by tier; an agent takes the next and escalates
#     it to line2; another agent takes it over without the customer reconnecting.
bob_token=$("$tandem" users add bob --role agent | tail -1)
check "join --queue needs a ticket" bash -c "! '$tandem' join --queue --consent yes 2>queue-noticket.err && grep -q 'needs --ticket' queue-noticket.err"
check "queue take with nobody waiting says so" bash -c "! TANDEM_TOKEN='$agent_token' '$tandem' queue take 2>take-empty.err && grep -q 'Nobody is waiting' take-empty.err"
"$tandem" join --queue --ticket HD-4001 --consent yes --source pattern --fps 5 > queued-basic.log 2>&1 &
pids+=($!)
basic_pid=$!
for _ in $(seq 1 100); do grep -q 'number 1 in line' queued-basic.log && break; sleep 0.1; done
# Only a help link signed by the broker (§16.1) gives a tier above basic.
TANDEM_TOKEN=$agent_token "$tandem" help-link --ticket HD-4002 --tier premium --expires 2h > help-link.txt
premium_link=$(grep -o 'https://[^ ]*/help?[^ ]*' help-link.txt | head -1)
check "help-link prints a signed link to /help with the ticket and tier" bash -c "grep -q 'Help link for ticket HD-4002 (premium, line1)' help-link.txt && echo '$premium_link' | grep -q 'ticket=HD-4002&tier=premium&line=line1&expires=[0-9]*&sig='"
"$tandem" join --link "$premium_link" --mode camera --consent yes --source pattern --fps 5 > queued-premium.log 2>&1 &
pids+=($!)
premium_pid=$!
for _ in $(seq 1 100); do grep -q 'number 2 in line' queued-basic.log && break; sleep 0.1; done
check "a premium customer who came later goes ahead of a basic one" bash -c "grep -q 'you are number 2 in line' queued-basic.log && grep -q 'you are number 1 in line' queued-premium.log"
TANDEM_TOKEN=$agent_token "$tandem" queue > queue.txt
check "tandem queue lists both, premium first" bash -c "sed -n 2p queue.txt | grep -q '^1 .*premium .*HD-4002' && sed -n 3p queue.txt | grep -q '^2 .*basic .*HD-4001'"
TANDEM_TOKEN=$agent_token "$tandem" queue take --outcome resolved > take1.log 2>&1 &
pids+=($!)
take1_pid=$!
for _ in $(seq 1 100); do grep -q 'customer joined' take1.log && break; sleep 0.1; done
check "queue take gets the premium customer and its wait" bash -c "grep -q 'ticket HD-4002 (camera), premium tier, from line1' take1.log && grep -q 'The customer waited [0-9]* s in the queue' take1.log"
check "the customer joins the session of the agent who took it" grep -q "Joined alice's session for ticket HD-4002" queued-premium.log
queued_session=$(grep -o 's_[a-z0-9]*' take1.log | head -1)
sleep 1
TANDEM_TOKEN=$agent_token "$tandem" session transfer "$queued_session" --to line2 --note "router config" > transfer.log 2>&1
wait "$take1_pid" || true
check "session transfer escalates to line2 and releases the first agent" bash -c "grep -q 'handed over by alice to line line2' transfer.log && grep -q 'You handed the session over' take1.log"
TANDEM_TOKEN=$bob_token "$tandem" queue take --line line2 --outcome resolved > take2.log 2>&1 &
pids+=($!)
take2_pid=$!
for _ in $(seq 1 100); do grep -q 'customer started stream' take2.log && break; sleep 0.1; done
check "the second agent takes over with the note and the customer's stream" bash -c "grep -q 'Transferred by alice after [0-9]* s in the queue: router config' take2.log && grep -q 'customer started stream 1' take2.log"
check "the customer stays connected and is told who took over" bash -c "grep -q 'handing you over to a colleague in line2' queued-premium.log && grep -q 'You are now talking to bob' queued-premium.log"
TANDEM_TOKEN=$admin_token "$tandem" session list > live.txt
check "session list shows the live session with its agent" grep -q "$queued_session  HD-4002  bob  camera" live.txt
check "only admins list live sessions" bash -c "! TANDEM_TOKEN='$agent_token' '$tandem' session list 2>/dev/null"
TANDEM_TOKEN=$admin_token "$tandem" session watch "$queued_session" > watch.log 2>&1 &
pids+=($!)
watch_pid=$!
for _ in $(seq 1 100); do grep -q 'root (supervisor, observing)' queued-premium.log && break; sleep 0.1; done
check "a supervisor watches: it gets the customer's stream, and the customer is told who is present" bash -c "grep -q 'Supervising session $queued_session for ticket HD-4002 (camera) of bob as an observer' watch.log && grep -q 'customer started stream 1' watch.log && grep -q 'Present in this session: bob (agent), the customer, root (supervisor, observing)' queued-premium.log"
kill -INT "$watch_pid"
wait "$watch_pid" || true
check "the supervisor leaves with Ctrl-C; the session goes on" bash -c "grep -q 'you left the session' watch.log && TANDEM_TOKEN='$admin_token' '$tandem' session list | grep -q '$queued_session'"
TANDEM_TOKEN=$bob_token "$tandem" session end "$queued_session" --outcome resolved > /dev/null
wait "$take2_pid" || true
wait "$premium_pid" || true
kill -TERM "$basic_pid" 2>/dev/null || true
wait "$basic_pid" || true
TANDEM_TOKEN=$auditor_token "$tandem" audit show "$queued_session" > show-queue.txt
check "the timeline has the supervisor's visit" bash -c "grep -q 'supervisor.joined  root  mode=observer supervisor=root' show-queue.txt && grep -q 'supervisor.left  root' show-queue.txt"
check "the timeline has the queue wait, the transfer and each agent's part" bash -c "grep -q 'queue.answered  alice .*tier=premium waitedMs=[0-9]*' show-queue.txt && grep -q 'session.transferred  alice .*line=line2' show-queue.txt && grep -q 'transfer.answered  bob .*from=alice' show-queue.txt && grep -q 'agent bob' show-queue.txt"
for _ in $(seq 1 50); do TANDEM_TOKEN=$auditor_token "$tandem" audit export --format jsonl --what events | grep -q '"queue.left"' && break; sleep 0.1; done
TANDEM_TOKEN=$auditor_token "$tandem" audit stats > stats-queue.txt
check "audit stats reports the queue's share answered within 20 s and the transfer" bash -c "grep -q '^queue: *2 entered, 1 answered, 1 left unanswered' stats-queue.txt && grep -q '^answered within 20 s: *[0-9.]* % (. of 2)' stats-queue.txt && grep -q 'transferred 1 session, 1 hand-over' stats-queue.txt"

# 3e. Agents online: the broker offers each customer to the least busy agent, who takes it.
TANDEM_TOKEN=$agent_token "$tandem" agent online --lines line1 --skills router --max-sessions 1 --auto-accept --outcome resolved < /dev/null > online.log 2>&1 &
online_pid=$!
pids+=($online_pid)
for _ in $(seq 1 100); do grep -q 'alice is available' online.log && break; sleep 0.1; done
check "agent online says alice is available with her lines and skills" grep -q 'alice is available: 0/1 sessions, lines line1, skills router' online.log
TANDEM_TOKEN=$agent_token "$tandem" agent list > agents.txt
check "agent list shows alice available" grep -Eq '^alice +available +0/1 +line1 +router' agents.txt
"$tandem" join --queue --ticket HD-5001 --consent yes --source pattern --fps 5 --no-survey > online-customer.log 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do grep -q "Joined alice's session for ticket HD-5001" online-customer.log && break; sleep 0.1; done
check "the customer is offered to alice, who takes it" bash -c "grep -q 'offer o_[a-z0-9]*: HD-5001, basic, line1' online.log && grep -q 'taking it' online.log && grep -q \"Joined alice's session for ticket HD-5001\" online-customer.log"
for _ in $(seq 1 100); do TANDEM_TOKEN=$agent_token "$tandem" agent list > agents-busy.txt; grep -q 'busy' agents-busy.txt && break; sleep 0.1; done
check "agent list shows alice busy with one session" grep -Eq '^alice +busy +1/1' agents-busy.txt
online_session=$(TANDEM_TOKEN=$admin_token "$tandem" session list | grep -o 's_[a-z0-9]*  HD-5001' | cut -d' ' -f1)
TANDEM_TOKEN=$agent_token "$tandem" session end "$online_session" --outcome resolved > /dev/null
for _ in $(seq 1 100); do grep -q 'alice is available: 0/1' <(tail -n 3 online.log) && break; sleep 0.1; done
check "alice is available again when the session ends" bash -c "tail -n 3 online.log | grep -q 'alice is available: 0/1'"
kill "$online_pid"
for _ in $(seq 1 50); do TANDEM_TOKEN=$auditor_token "$tandem" audit export --format jsonl --what events | grep -q '"offline"' && break; sleep 0.1; done
TANDEM_TOKEN=$auditor_token "$tandem" audit export --format jsonl --what events > online-events.jsonl
check "the log has the presence changes and the offer" python3 - online-events.jsonl <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
presence = [e["detail"]["state"] for e in events if e["kind"] == "agent.presence" and e["actor"] == "alice"]
assert presence[0] == "available" and presence[-1] == "offline", presence
offered = [e for e in events if e["kind"] == "queue.offered"]
assert offered and offered[-1]["detail"]["agent"] == "alice", offered
answered = [e for e in events if e["kind"] == "queue.answered" and "offerId" in e["detail"]]
assert answered and answered[-1]["detail"]["offerId"] == offered[-1]["detail"]["offerId"], answered
PY
TANDEM_TOKEN=$admin_token "$tandem" floor > floor.txt
check "tandem floor prints a sign-in link to /floor" grep -Eq '^https://127\.0\.0\.1:[0-9]+/floor#token=tdc_' floor.txt

# 4. The auditor reviews the log.
TANDEM_TOKEN=$auditor_token "$tandem" audit sessions --ticket HD-1042 > audit.txt
TANDEM_TOKEN=$auditor_token "$tandem" audit sessions --ticket HD-1042 --json > audit.json
check "audit table lists the session" grep -q "$session  HD-1042  alice  camera" audit.txt
check "audit JSON has outcome, reason, note, wait and traffic both ways" python3 - audit.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["sessions"][0]
assert s["outcome"] == "escalated" and s["endReason"] == "ended-via-api" and s["note"] == "needs line 2", s
assert s["waitSeconds"] >= 0 and s["durationSeconds"] >= s["waitSeconds"], s
assert s["customerToAgent"]["frames"] > 0 and s["agentToCustomer"]["frames"] > 0, s
assert s["customerClient"] == "tandem-cli/0.1", s
PY
TANDEM_TOKEN=$auditor_token "$tandem" audit sessions --ticket HD-2001 --json > audit2.json
check "the folder session is logged with its outcome, note and frames" python3 - audit2.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["sessions"][0]
assert s["outcome"] == "resolved" and s["endReason"] == "agent-ended" and s["note"] == "walked through it", s
assert s["customerToAgent"]["frames"] >= 5, s
PY
TANDEM_TOKEN=$auditor_token "$tandem" audit sessions --ticket HD-3003 --json > audit3.json
check "annotations, freezes and chat are counted, streams are logged" python3 - audit3.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["sessions"][0]
assert s["annotations"] == 2 and s["freezes"] == 1 and s["chatMessages"] == 1, s
owners = sorted((x["owner"], x["streamId"]) for x in s["streams"])
assert owners == [("agent", 1), ("customer", 1)], s["streams"]
PY
TANDEM_TOKEN=$auditor_token "$tandem" audit show "$session" > show.txt
check "audit show prints the session's timeline" bash -c "grep -q 'session.created  alice' show.txt && grep -q 'customer.joined' show.txt && grep -q 'session.ended' show.txt && grep -q 'reason=ended-via-api' show.txt"
TANDEM_TOKEN=$auditor_token "$tandem" audit ticket HD-1042 > ticket.txt
check "audit ticket summarises the ticket" bash -c "grep -q 'Ticket HD-1042: 1 session (0 live), agents alice' ticket.txt && grep -q 'escalations: 1' ticket.txt"
check "audit sessions filters by outcome and date" bash -c "TANDEM_TOKEN='$auditor_token' '$tandem' audit sessions --outcome escalated --since 2000-01-01 | grep -q '^1 session$' && TANDEM_TOKEN='$auditor_token' '$tandem' audit sessions --until 2000-01-01 | grep -q '^0 sessions$'"
check "a bad date is refused with a clear message" bash -c "! TANDEM_TOKEN='$auditor_token' '$tandem' audit sessions --since yesterday 2>bad-date.err && grep -q 'since must be a date' bad-date.err"
check "audit verify reports the chain intact" bash -c "TANDEM_TOKEN='$auditor_token' '$tandem' audit verify | grep -q '^intact: [0-9]* events, head [0-9a-f]\{64\}$'"
check "audit show has consent, stream and who ended it" bash -c "grep -q 'consent.granted  customer' show.txt && grep -q 'stream.started' show.txt && grep -q 'ended-via-api by alice' show.txt"
TANDEM_TOKEN=$auditor_token "$tandem" audit stats --since 2000-01-01 > stats.txt
check "audit stats reports FCR, escalation, medians and outcomes" bash -c "grep -q '^first-contact resolution: ' stats.txt && grep -q '^escalation rate: *[0-9.]* %' stats.txt && grep -q '^median wait: ' stats.txt && grep -q '^median handle time: ' stats.txt && grep -q 'escalated 1' stats.txt"
TANDEM_TOKEN=$auditor_token "$tandem" audit export --format csv > export.csv
TANDEM_TOKEN=$auditor_token "$tandem" audit export --format jsonl --what events --output events.jsonl 2>/dev/null
check "audit export writes CSV sessions and JSON-lines events" python3 - export.csv events.jsonl <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert any(r["ticket"] == "HD-1042" and r["outcome"] == "escalated" and r["ended_by"] == "alice" for r in rows), rows
events = [json.loads(line) for line in open(sys.argv[2])]
assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
assert any(e["kind"] == "consent.granted" for e in events)
PY
TANDEM_TOKEN=$auditor_token "$tandem" audit key > key.txt
check "audit key prints the signing key served and printed by serve" bash -c "grep -q 'BEGIN PUBLIC KEY' key.txt && grep -q \"\$(grep -o 'SHA256:[0-9a-f]*' serve.log)\" key.txt && diff <(grep -v fingerprint key.txt) tandem-data/audit-signing.pub.pem"
check "auditors cannot prune" bash -c "! TANDEM_TOKEN='$auditor_token' '$tandem' audit prune --before 2000-01-01 2>prune.err && grep -q 'only admins' prune.err"
check "admins prune (nothing that old here)" bash -c "TANDEM_TOKEN='$admin_token' '$tandem' audit prune --before 2000-01-01 | grep -q 'Nothing to prune'"
check "an agent token cannot read another agent's sessions" bash -c "! TANDEM_TOKEN='$agent_token' '$tandem' audit sessions --agent bob 2>/dev/null"

# 5. SIGTERM stops the broker cleanly.
kill -TERM "$serve_pid"
check "serve exits 0 on SIGTERM" wait "$serve_pid"
"$tandem" serve --port 0 > serve-again.log 2>&1 &
pids+=($!)
again_pid=$!
export TANDEM_SERVER="https://127.0.0.1:$(wait_for_port serve-again.log)"
check "the restarted broker keeps its signing key" grep -q "$(grep -o 'SHA256:[0-9a-f]*' serve.log)" serve-again.log
check "the shutdown signed a checkpoint of the whole log" bash -c "TANDEM_TOKEN='$auditor_token' '$tandem' audit verify | grep -q 'signed checkpoints, the last at event #[0-9]* .*; 0 events after it'"
kill -TERM "$again_pid"; wait "$again_pid" || true

# 6. TLS options: real PEM files, and plaintext only on loopback.
bash "$repo/certs/make-dev-certs.sh" "$work/pem" >/dev/null
mkdir pemdata
"$tandem" serve --port 0 --data-dir pemdata --cert pem/server.pem --key pem/server.key.pem > serve-pem.log 2>&1 &
pids+=($!)
pem_pid=$!
pem_port=$(wait_for_port serve-pem.log)
check "serve --cert/--key uses the given certificate" bash -c "curl -s --cacert pem/ca.pem https://localhost:$pem_port/healthz | grep -q ok"
check "no dev certificate is made with --cert" test ! -e pemdata/certs
kill -TERM "$pem_pid"; wait "$pem_pid" || true
check "--insecure-plaintext is refused off loopback" bash -c "! '$tandem' serve --insecure-plaintext --host 0.0.0.0 --port 0 --data-dir plain 2>plain.err && grep -q 'loopback' plain.err"
check "a --cert without --key is refused" bash -c "! '$tandem' serve --cert pem/server.pem 2>/dev/null"

# 7. The same broker on PostgreSQL (when the test command started one).
if [ -n "${TANDEM_TEST_POSTGRES_URL:-}" ]; then
  pg_db="${TANDEM_TEST_POSTGRES_URL%%\?*}"
  pg_db="${pg_db%/*}/walkthrough"
  pg_url="$pg_db?sslmode=disable"
  psql "$TANDEM_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS walkthrough" -c "CREATE DATABASE walkthrough" >/dev/null 2>&1
  mkdir pg
  pg_agent=$("$tandem" users add pgalice --role agent --data-dir pg --database "$pg_url" | tail -1)
  pg_auditor=$("$tandem" users add pgaudrey --role auditor --data-dir pg --database "$pg_url" | tail -1)
  check "users add/list work against PostgreSQL" bash -c "'$tandem' users list --database '$pg_url' | grep -q pgalice"
  "$tandem" serve --port 0 --data-dir pg --database "$pg_url" > serve-pg.log 2>&1 &
  pids+=($!)
  pg_pid=$!
  pg_port=$(wait_for_port serve-pg.log)
  check "serve --database postgres://… names the server, never the password" bash -c "grep -q 'database postgres://127.0.0.1:[0-9]*/walkthrough' serve-pg.log"
  TANDEM_SERVER="https://127.0.0.1:$pg_port" TANDEM_CA=pg/certs/ca.pem TANDEM_TOKEN="$pg_agent" \
    timeout 30 "$tandem" session start --ticket HD-PG-1 --mode screen --expires 1 > pg-session.log 2>&1 || true
  check "a session on PostgreSQL starts and expires" grep -q "session ended: expired" pg-session.log
  kill -TERM "$pg_pid"; wait "$pg_pid" || true
  check "the log in PostgreSQL has the session, its events and the shutdown checkpoint" bash -c \
    "psql '$pg_url' -tAc \"select end_reason from sessions where ticket = 'HD-PG-1'\" | grep -qx expired && psql '$pg_url' -tAc 'select kind from audit_checkpoints' | grep -qx shutdown"
  "$tandem" serve --port 0 --data-dir pg --database "$pg_url" > serve-pg2.log 2>&1 &
  pids+=($!)
  pg_pid=$!
  pg_port=$(wait_for_port serve-pg2.log)
  check "audit verify says intact on PostgreSQL after a restart" bash -c \
    "TANDEM_SERVER=https://127.0.0.1:$pg_port TANDEM_CA=pg/certs/ca.pem TANDEM_TOKEN='$pg_auditor' '$tandem' audit verify | grep -q '^intact: 4 events'"
  # A second broker on the same database, with the same certificate: a customer who
  # reaches it with the first broker's code is sent there by `tandem join`.
  mkdir pg2 && cp pg/audit-signing.key pg/audit-signing.pub.pem pg2/
  "$tandem" serve --port 0 --data-dir pg2 --database "$pg_url" --cert pg/certs/server.pem --key pg/certs/server.key.pem > serve-pg-b.log 2>&1 &
  pids+=($!)
  pgb_pid=$!
  pgb_port=$(wait_for_port serve-pg-b.log)
  TANDEM_SERVER="https://127.0.0.1:$pg_port" TANDEM_CA=pg/certs/ca.pem TANDEM_TOKEN="$pg_agent" \
    "$tandem" session start --ticket HD-PG-2 --mode camera > pg-agent.log 2>&1 &
  pids+=($!)
  pga_agent=$!
  for _ in $(seq 1 100); do grep -q 'Join code' pg-agent.log && break; sleep 0.1; done
  pg_code=$(grep 'Join code' pg-agent.log | awk '{print $3}')
  TANDEM_SERVER="https://127.0.0.1:$pgb_port" TANDEM_CA=pg/certs/ca.pem \
    timeout 30 "$tandem" join "$pg_code" --consent yes --source pattern --fps 10 --max-frames 5 > pg-customer.log 2>&1 || true
  check "join at the other broker is sent to the broker holding the session and streams there" bash -c \
    "grep -q 'belongs to another broker of the service; joining there (https://127.0.0.1:$pg_port)' pg-customer.log && grep -q 'Sent 5 frames' pg-customer.log"
  kill -TERM "$pga_agent" 2>/dev/null || true; wait "$pga_agent" 2>/dev/null || true
  # One queue across the brokers (§20.7): a customer waits at the first broker, an agent
  # pulling at the second is sent there and takes it.
  TANDEM_SERVER="https://127.0.0.1:$pg_port" TANDEM_CA=pg/certs/ca.pem \
    "$tandem" join --queue --ticket HD-PG-3 --consent yes --source pattern --fps 5 --no-survey > pg-queued.log 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q 'number 1 in line' pg-queued.log && break; sleep 0.1; done
  sleep 1.5 # the first broker publishes its queue within a second
  TANDEM_SERVER="https://127.0.0.1:$pgb_port" TANDEM_CA=pg/certs/ca.pem TANDEM_TOKEN="$pg_agent" \
    "$tandem" queue take --outcome resolved > pg-take.log 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q "Joined pgalice's session for ticket HD-PG-3" pg-queued.log && break; sleep 0.1; done
  check "queue take at the other broker is sent to the broker where the customer waits and takes it" bash -c \
    "grep -q 'going to https://127.0.0.1:$pg_port, where the customer waits' pg-take.log && grep -q 'ticket HD-PG-3 (screen), basic tier, from line1' pg-take.log && grep -q \"Joined pgalice's session for ticket HD-PG-3\" pg-queued.log"
  kill -TERM "$pgb_pid"; wait "$pgb_pid" || true
  kill -TERM "$pg_pid"; wait "$pg_pid" || true
else
  echo "skip PostgreSQL part: TANDEM_TEST_POSTGRES_URL is not set (scripts/test.sh starts a server)"
fi

echo "walkthrough: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
