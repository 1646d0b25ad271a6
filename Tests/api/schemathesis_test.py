#!/usr/bin/env python3
"""Checks protocol/openapi.yaml against a running broker with Schemathesis, plus the calls
fuzzing cannot make safely or at all (WebSocket upgrades, transfers, ends, recordings,
413s, pruning, revoked tokens), by hand.

usage:
  python3 Tests/api/schemathesis_test.py [--max-examples N] [--seed N] [--strict] [--keep] BROKER

Needs Python 3.10+ with schemathesis 4.x (and its requests, PyYAML); nothing else.

BROKER is a built `tandem` binary (e.g. .build/debug/tandem). The script makes a data
directory in /tmp, adds users (agents alice and bob, auditor aud, admin root), starts
`tandem serve --port 0`, creates data with the CLI (a live recorded session with a
customer streaming, ended sessions, two customers in the queue), and then:

 1. hand checks before fuzzing: the role matrix (every operation's `security` in the
    document against what the server answers for each role), 401s, 413s, WebSocket
    upgrades, unknown paths (404), other methods (405 with Allow), HEAD, strict dates, the
    survey answer without an account (forged and malformed tokens 403 `survey-invalid`,
    never 401 or 5xx; bodies that are no answer 400); each response is validated against
    the document (status, content type, schema) with Schemathesis' checks;
 2. `schemathesis run` per token (agent, auditor, admin) over every operation but the
    WebSocket upgrades (Schemathesis speaks HTTP only; checked by hand in 1) and the prune
    (irreversible: run last, in 4), with the checks not_a_server_error,
    status_code_conformance, content_type_conformance, response_schema_conformance,
    ignored_auth and unsupported_method; real session ids are fed in through a dictionary (`path.id`). End and
    transfer run in a second invocation per token, with ids of ended sessions only and
    without stateful links (Schemathesis reuses every id it saw in a run), so that the
    live session survives the fuzzing;
 3. hand checks of what changes state: transfer the live session (503 while the queue is
    full, then 202), the queue, end it as admin (200, then 409), download its recording
    (200; its customer, `tandem join` reading answers from a file, then answers the
    post-session survey: logged as `survey.answered`), record a late outcome (200, then
    409), revoke a user (401: `tandem users revoke`, not an API route);
 4. `schemathesis run` of the prune alone (admin), then a real prune by hand and a verify.

Known server bugs (see KNOWN_SERVER_BUGS) are reported as XFAIL and do not fail the run
unless --strict; everything else that fails makes the exit status 1. Runs in about two
minutes on two cores with the defaults (--max-examples 25), mostly Schemathesis' own CPU.
--keep keeps the data directory with the broker's log and each Schemathesis run's log and
reports (schemathesis-LABEL.log, .json, .ndjson).
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "protocol", "openapi.yaml")
# unsupported_method: the coverage phase's requests with a method a path does not list get 405 with Allow.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth,unsupported_method"

# Mismatches that are the server's fault, reported in issue 16 (part 4) to be fixed in Swift.
# A hand check named here that fails is XFAIL; one that passes is XPASS (remove it here).
KNOWN_SERVER_BUGS: dict[str, str] = {
    # None now: the empty 413 answers were fixed (BrokerAPI.decodeBody answers payload-too-large in JSON).
}


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.broker = os.path.abspath(args.broker)
        self.data = tempfile.mkdtemp(prefix="tandem-api-")
        self.ca = os.path.join(self.data, "certs", "ca.pem")
        self.processes: list[subprocess.Popen] = []
        self.results: list[tuple[str, str, str]] = []  # (status, name, detail)
        self.fuzz: list[tuple[str, bool, str]] = []  # (label, passed, summary)
        self.tokens: dict[str, str] = {}
        self.base = ""
        self.started = time.monotonic()

    # ---- processes ---------------------------------------------------------------------

    def tandem(self, *argv: str, token: str | None = None, timeout: float = 30) -> str:
        out = subprocess.run([self.broker, *argv], env=self.env(token), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise RuntimeError(f"tandem {' '.join(argv)} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
        return out.stdout

    def spawn(self, *argv: str, token: str | None = None, log: str, stdin: str | None = None) -> subprocess.Popen:
        """Starts `tandem ARGV` in the background; `stdin`: text it reads (else nothing, end of input at once)."""
        handle = open(os.path.join(self.data, log), "w")
        source = subprocess.DEVNULL
        if stdin is not None:
            path = os.path.join(self.data, log + ".stdin")
            with open(path, "w") as answers:
                answers.write(stdin)
            source = open(path)
        process = subprocess.Popen([self.broker, *argv], env=self.env(token), stdout=handle, stderr=subprocess.STDOUT, stdin=source)
        self.processes.append(process)
        return process

    def env(self, token: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
        if self.base:
            env["TANDEM_SERVER"] = self.base
            env["TANDEM_CA"] = self.ca
        if token:
            env["TANDEM_TOKEN"] = token
        return env

    def log(self, name: str) -> str:
        with open(os.path.join(self.data, name)) as handle:
            return handle.read()

    def wait_for(self, what: str, predicate, timeout: float = 15, step: float = 0.25):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(step)
        raise RuntimeError(f"timed out waiting for {what}")

    def stop(self) -> None:
        # Customers and agents first, the broker (the first process) last; only our own pids.
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # ---- setup -------------------------------------------------------------------------

    def setup(self) -> None:
        for name, role in [("alice", "agent"), ("bob", "agent"), ("aud", "auditor"), ("root", "admin")]:
            self.tokens[name] = self.tandem("users", "add", name, "--role", role, "--data-dir", self.data).strip().splitlines()[-1]
        # Checkpoints every 2 s, so that there are some to list; a queue of 2, so that the two
        # customers below fill it and a transfer gets 503.
        self.spawn("serve", "--port", "0", "--data-dir", self.data, "--checkpoint-interval", "2", "--max-queue", "2", log="serve.log")
        match = self.wait_for("the broker", lambda: re.search(r"listening on (https://\S+)", self.log("serve.log")), timeout=60)
        self.base = match.group(1)
        print(f"broker {self.base}, data {self.data}", flush=True)

        import requests

        self.http = requests.Session()
        self.http.verify = self.ca
        self.http.trust_env = False  # else REQUESTS_CA_BUNDLE would replace our CA

        # A: alice's recorded session, a customer joined and streaming; stays live through the fuzzing.
        self.spawn("session", "start", "--ticket", "HD-API", "--expires", "60", "--record", "--outcome", "resolved", token=self.tokens["alice"], log="agent-a.log")
        self.session_a = self.wait_for("session A", lambda: self.find(r"Session (s_\w+)", "agent-a.log"))
        code = self.wait_for("A's join code", lambda: self.find(r"Join code:\s+([0-9-]+)", "agent-a.log"))
        # When A ends (post_fuzz), its customer answers the post-session survey (§5.16) from
        # these lines: solved, score 4, a comment (the broker asks no NPS without --survey-nps).
        self.spawn("join", code, "--consent", "yes", "--fps", "1", "--source", "pattern:64x48", log="customer-a.log",
                   stdin="y\n4\nanswered by the API test\n")
        self.wait_for("the customer of A", lambda: any(s["customerPresent"] for s in self.get("root", "/v1/sessions/live").json()["sessions"]))
        # B and D: alice's, expired without a customer (no outcome); C: bob's, likewise.
        self.session_b = self.expired_session("alice", "HD-API-B")
        self.session_c = self.expired_session("bob", "HD-API-C")
        self.session_d = self.expired_session("alice", "HD-API-D")
        # Two customers in the queue: one without a link (basic), one with a premium help link.
        link = self.post("alice", "/v1/help-links", {"ticket": "HD-QUEUE-2", "tier": "premium", "line": "line2"}).json()["url"]
        self.queue_customer = self.spawn("join", "--queue", "--ticket", "HD-QUEUE-1", "--consent", "yes", log="queue-1.log")
        self.spawn("join", "--link", link, "--consent", "yes", log="queue-2.log")
        self.wait_for("two queue entries", lambda: len(self.get("alice", "/v1/queue").json()["entries"]) == 2)
        print(f"sessions: A {self.session_a} (live, recorded), B {self.session_b}, C {self.session_c} (bob), D {self.session_d}", flush=True)

    def expired_session(self, user: str, ticket: str) -> str:
        out = self.tandem("session", "start", "--ticket", ticket, "--expires", "1", token=self.tokens[user], timeout=30)
        session = re.search(r"Session (s_\w+)", out).group(1)
        self.wait_for(f"{session} to end", lambda: self.get("root", f"/v1/sessions/{session}").json()["endedAt"])
        return session

    def find(self, pattern: str, log: str) -> str | None:
        match = re.search(pattern, self.log(log))
        return match.group(1) if match else None

    def get(self, user: str, path: str):
        return self.http.get(self.base + path, headers={"Authorization": "Bearer " + self.tokens[user]}, timeout=30)

    def post(self, user: str, path: str, body):
        return self.http.post(self.base + path, headers={"Authorization": "Bearer " + self.tokens[user]}, json=body, timeout=30)

    # ---- hand checks ---------------------------------------------------------------------

    def record(self, name: str, ok: bool, detail: str = "") -> None:
        if name in KNOWN_SERVER_BUGS:
            status = "XPASS" if ok else "XFAIL"
            detail = (detail + " — " if detail else "") + "known server bug: " + KNOWN_SERVER_BUGS[name]
            if self.args.strict and not ok:
                status = "FAIL"
        else:
            status = "PASS" if ok else "FAIL"
        self.results.append((status, name, detail))
        if status != "PASS":
            print(f"  {status} {name}: {detail}", flush=True)

    def call(self, name: str, operation_id: str, user: str | None, expect: int | set[int], *, path=None, query=None, body=None, raw: bytes | None = None):
        """Calls an operation as `user` and checks the status and the response against the document."""
        from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance

        operation = self.schema.find_operation_by_id(operation_id)
        kwargs = {}
        if body is not None:
            kwargs = {"body": body, "media_type": "application/json"}
        case = operation.Case(path_parameters=path or {}, query=query or {}, **kwargs)
        headers = {"Authorization": "Bearer " + self.tokens[user]} if user else {}
        try:
            if raw is not None:
                response = self.http.request(case.method, self.base + case.formatted_path, headers={**headers, "Content-Type": "application/json"}, data=raw, timeout=30)
            else:
                response = case.call(base_url=self.base, headers=headers, verify=self.ca, timeout=30)
        except Exception as error:  # noqa: BLE001 - a broken connection is a failed check
            self.record(name, False, f"request failed: {error!r}")
            return None
        expected = {expect} if isinstance(expect, int) else expect
        problems = []
        if response.status_code not in expected:
            problems.append(f"status {response.status_code}, expected {sorted(expected)}: {response.content[:200]!r}")
        try:
            checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
            if not any(status >= 500 for status in expected):  # 503 queue-full is documented
                checks.append(not_a_server_error)
            case.validate_response(response, checks=checks)
        except BaseException as error:  # noqa: BLE001 - schemathesis raises a FailureGroup (an exception group)
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            problems.append(describe(error))
        self.record(name, not problems, "; ".join(problems))
        return response

    def role_matrix(self) -> None:
        """Every operation's `security` roles, against the server: a role not listed gets 403, a listed one does not."""
        users = {"agent": "alice", "auditor": "aud", "admin": "root"}
        a = {"id": self.session_a}
        # What each role, when allowed, gets for a valid call (state-changing operations only when refused).
        calls = {
            "getSession": dict(path=a, allowed=200),
            "getSessionEvents": dict(path=a, allowed=200),
            "getRecording": dict(path=a, allowed=409),  # live: still recording
            "getEvidenceBundle": dict(path=a, allowed=409),  # live: not complete yet
            "listLiveSessions": dict(allowed=200),
            "listQueue": dict(allowed=200),
            "createHelpLink": dict(body={"ticket": "HD-1042", "tier": "standard"}, allowed=200),
            "createConsoleToken": dict(allowed=200),
            "listAuditSessions": dict(query={"limit": 5}, allowed=200),
            "verifyAuditLog": dict(allowed=200),
            "getAuditStats": dict(query={"since": "2020-01-01"}, allowed=200),
            "exportAudit": dict(query={"format": "csv"}, allowed=200),
            "listCheckpoints": dict(allowed=200),
            "getAuditPublicKey": dict(allowed=200),
            "endSession": dict(path=a, body={"outcome": "resolved"}, allowed=None),
            "transferSession": dict(path=a, body={"line": "line2"}, allowed=None),
            "pruneAuditLog": dict(body={"before": "2000-01-01T00:00:00Z"}, allowed=None),
        }
        for operation_id, spec in calls.items():
            operation = self.schema.find_operation_by_id(operation_id)
            roles = {role for requirement in operation.definition.raw.get("security", []) for role in requirement.get("bearer", [])}
            for role, user in users.items():
                if role in roles:
                    if spec["allowed"] is None:
                        continue  # changes state: checked in post_fuzz
                    expect = spec["allowed"]
                else:
                    expect = 403
                self.call(f"role {role} {operation_id}", operation_id, user, expect, path=spec.get("path"), query=spec.get("query"), body=spec.get("body"))
        # Cases the matrix cannot express.
        self.call("exportAudit what=events by an agent is 403", "exportAudit", "alice", 403, query={"what": "events"})
        self.call("exportAudit what=events jsonl by an auditor", "exportAudit", "aud", 200, query={"what": "events", "format": "jsonl"})
        self.call("agent reads another agent's session: 404", "getSession", "alice", 404, path={"id": self.session_c})
        self.call("agent reads another agent's events: 404", "getSessionEvents", "alice", 404, path={"id": self.session_c})
        self.call("agent names another agent: 403", "listAuditSessions", "alice", 403, query={"agent": "bob"})
        self.call("agent ends another agent's session: 404", "endSession", "alice", 404, path={"id": self.session_c}, body={"outcome": "resolved"})
        self.call("bob transfers alice's live session: 403", "transferSession", "bob", 403, path=a, body={"line": "line2"})
        self.call("transfer of an ended session: 409", "transferSession", "alice", 409, path={"id": self.session_b}, body={"line": "line2"})
        self.call("transfer naming line and agent: 400", "transferSession", "alice", 400, path=a, body={"line": "line2", "agent": "bob"})
        self.call("recording of a session never recorded: 404", "getRecording", "aud", 404, path={"id": self.session_b})
        self.call("stats with queue (auditor)", "getAuditStats", "aud", 200)
        self.call("bad date: 400", "listAuditSessions", "aud", 400, query={"since": "yesterday"})
        self.call("limit 0: 400", "listAuditSessions", "aud", 400, query={"limit": 0})
        self.call("export format xml: 400", "exportAudit", "aud", 400, query={"format": "xml"})
        self.call("help link lifetime too long: 400", "createHelpLink", "alice", 400, body={"ticket": "HD-1", "tier": "basic", "expiresInSeconds": 604801})
        self.call("checkpoints signed (interval 2 s)", "listCheckpoints", "aud", 200)
        self.call("queue listing with a premium entry", "listQueue", "root", 200)
        self.call("live sessions listing", "listLiveSessions", "root", 200)

    def unauthorized(self) -> None:
        for label, header in [("none", None), ("unknown token", "Bearer tdm_" + "A" * 43), ("malformed token", "Bearer tdm_x"), ("Basic scheme", "Basic YWxpY2U6eA==")]:
            headers = {"Authorization": header} if header else {}
            response = self.http.get(self.base + "/v1/audit/public-key", headers=headers, timeout=30)
            ok = response.status_code == 401 and response.headers.get("content-type", "").startswith("application/json") and response.json()["error"]["code"] == "unauthorized"
            self.record(f"401 for {label}", ok, f"{response.status_code} {response.text[:100]!r}")

    def too_large(self) -> None:
        big = "x" * (17 << 10)
        cases = [
            ("createHelpLink", {}, {"ticket": big, "tier": "basic"}),
            ("endSession", {"id": self.session_b}, {"outcome": "resolved", "note": big}),
            ("transferSession", {"id": self.session_b}, {"line": "line2", "note": big}),
            ("pruneAuditLog", {}, {"before": "2000-01-01T00:00:00Z", "pad": "x" * (5 << 10)}),
            # 8 KiB for a survey answer (§5.16), checked before the token.
            ("answerSurvey", {}, {"token": "tds_x", "solved": True, "score": 4, "comment": "x" * (9 << 10)}),
        ]
        for operation_id, path, body in cases:
            user = "root"
            self.call(f"413 {operation_id}", operation_id, user, 413, path=path, raw=json.dumps(body).encode())

    def surveys(self) -> None:
        """POST /v1/surveys takes no account: a token of the survey (§5.16). Forged, malformed
        and garbage tokens are 403 survey-invalid, bodies that are no answer 400 — never 401 or 5xx."""
        future = int(time.time()) + 3600
        forged = f"tds_{self.session_b}.{future}.0.{'A' * 22}"
        answer = {"token": forged, "solved": True, "score": 4}
        response = self.call("survey with a forged token: 403", "answerSurvey", None, 403, body=answer)
        if response is not None:
            self.record("forged survey token: survey-invalid", error_code(response) == "survey-invalid", response.text[:200])
        # A token's MAC is checked before its expiry: a forged token of the past is no more than invalid.
        self.call("survey with a forged past token: 403", "answerSurvey", None, 403, body={**answer, "token": f"tds_{self.session_b}.1000000000.0.{'A' * 22}"})
        # The token is not the API's: an agent's Authorization header changes nothing.
        self.call("survey with an agent's token header: 403", "answerSurvey", "alice", 403, body=answer)
        for label, token in [("garbage", "nope"), ("empty", ""), ("a join code", "482913557301"), ("an API token", "tdm_" + "A" * 43),
                             ("a session id only", f"tds_{self.session_b}"), ("not base64url", f"tds_{self.session_b}.{future}.0.{'*' * 22}"),
                             ("very long", "tds_" + "A" * 2000)]:
            response = self.call(f"survey token {label}: 403", "answerSurvey", None, 403, body={**answer, "token": token})
            if response is not None and response.status_code == 403:
                self.record(f"survey token {label}: survey-invalid", error_code(response) == "survey-invalid", response.text[:200])
        for label, raw in [
            ("not JSON", b"solved=yes"),
            ("a JSON array", b"[1,2]"),
            ("without token", json.dumps({"solved": True, "score": 4}).encode()),
            ("without score", json.dumps({"token": forged, "solved": True}).encode()),
            ("solved a string", json.dumps({"token": forged, "solved": "yes", "score": 4}).encode()),
            ("empty body", b""),
        ]:
            self.call(f"survey body {label}: 400", "answerSurvey", None, 400, raw=raw)
        # Out-of-range members with a forged token: the token is refused first (nothing tells a guesser more).
        self.call("survey score 9 with a forged token: 403", "answerSurvey", None, {400, 403}, body={**answer, "score": 9})

    def websockets(self) -> None:
        host, port = re.match(r"https://([^:/]+):(\d+)", self.base).groups()
        context = ssl.create_default_context(cafile=self.ca)

        def upgrade(path: str, extra: list[str], upgrade: bool = True) -> tuple[int, dict[str, str], bytes]:
            with socket.create_connection((host, int(port)), timeout=10) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
                lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
                if upgrade:
                    key = base64.b64encode(os.urandom(16)).decode()
                    lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
                tls.sendall(("\r\n".join(lines + extra) + "\r\n\r\n").encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                status_line, *header_lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines if ":" in h)}
                # The body of a refusal, which may arrive after the head (a 101 has none).
                while len(rest) < int(headers.get("content-length") or 0):
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    rest += chunk
                return int(status_line.split()[1]), headers, rest

        status, headers, _ = upgrade("/v1/ws", ["Sec-WebSocket-Protocol: tandem.v1"])
        self.record("ws /v1/ws upgrade: 101 with tandem.v1", status == 101 and headers.get("sec-websocket-protocol") == "tandem.v1", f"{status} {headers}")
        status, headers, _ = upgrade("/v1/echo", [])
        self.record("ws /v1/echo upgrade: 101", status == 101, f"{status}")
        status, headers, body = upgrade("/v1/ws", ["Origin: https://evil.example"])
        self.record("ws foreign Origin: 403 text/plain", status == 403 and headers.get("content-type", "").startswith("text/plain"), f"{status} {headers} {body!r}")
        status, headers, body = upgrade("/v1/ws", [], upgrade=False)
        ok = status == 426 and headers.get("upgrade") == "websocket" and headers.get("content-type") == "application/json" and b"upgrade-required" in body
        self.record("ws plain GET: 426 upgrade-required", ok, f"{status} {headers} {body!r}")

    def routing(self) -> None:
        """What no operation of the document covers: unknown /v1 paths, other methods, HEAD, strict dates."""
        auth = {"Authorization": "Bearer " + self.tokens["aud"]}
        for path in ["/v1/nope", "/v1/sessions", "/v1/audit"]:
            for headers in [auth, {}]:
                response = self.http.get(self.base + path, headers=headers, timeout=30)
                ok = response.status_code == 404 and error_code(response) == "not-found"
                self.record(f"unknown path {path}{'' if headers else ' (no token)'}: 404 not-found", ok, f"{response.status_code} {response.text[:200]!r}")
        for method, path, allow in [
            ("DELETE", f"/v1/sessions/{self.session_b}", "GET, HEAD"),
            ("PUT", "/v1/queue", "GET, HEAD"),
            ("GET", "/v1/audit/prune", "POST"),
            ("GET", f"/v1/sessions/{self.session_b}/end", "POST"),
            ("POST", "/v1/ws", "GET, HEAD"),
            ("GET", "/v1/surveys", "POST"),
        ]:
            response = self.http.request(method, self.base + path, headers=auth, timeout=30)
            ok = response.status_code == 405 and header(response, "allow") == allow and error_code(response) == "method-not-allowed"
            self.record(f"{method} {path}: 405 Allow {allow}", ok, f"{response.status_code} {dict(response.headers)} {response.text[:200]!r}")
        get = self.http.get(self.base + "/v1/audit/sessions", headers=auth, timeout=30)
        head = self.http.head(self.base + "/v1/audit/sessions", headers=auth, timeout=30)
        ok = head.status_code == 200 and head.content == b"" and header(head, "content-length") == str(len(get.content))
        self.record("HEAD of a GET route: its headers, no body", ok, f"{head.status_code} {dict(head.headers)} {head.content[:100]!r}")
        head = self.http.head(self.base + "/v1/audit/sessions", timeout=30)
        self.record("HEAD without a token: 401, no body", head.status_code == 401 and head.content == b"", f"{head.status_code} {head.content[:100]!r}")
        # Partial, zoneless and impossible times are refused, not guessed.
        for value in ["2026-11-22T10:00", "2026-11-22T10:00:00", "2026-02-30", "2026-11"]:
            response = self.call(f"since={value}: 400", "listAuditSessions", "aud", 400, query={"since": value})
            if response is not None and response.status_code == 400:
                message = response.json()["error"]["message"]
                self.record(f"since={value}: the message names since and RFC 3339", message.startswith("since must be") and "RFC 3339" in message, message)

    # ---- fuzzing -------------------------------------------------------------------------

    def write_config(self) -> str:
        path = os.path.join(self.data, "schemathesis.toml")
        readable = [self.session_a, self.session_b, self.session_c, "s_abcdefghijkmnpqr"]
        ended = [self.session_b, self.session_c]
        with open(path, "w") as handle:
            handle.write(
                "# Written by Tests/api/schemathesis_test.py: real session ids for the path parameters.\n"
                f"[dictionaries.readable]\nvalues = {json.dumps(readable)}\n\n"
                f"[dictionaries.ended]\nvalues = {json.dumps(ended)}\n\n"
                "[[operations]]\n"
                'include-operation-id = ["getSession", "getSessionEvents", "getRecording"]\n'
                'parameters = { "path.id" = { dictionary = "readable", probability = 0.5 } }\n\n'
                "# Never the live session A, nor D: fuzzing must not end or transfer A, nor give D an\n"
                "# outcome (post_fuzz does, once). So only ids of ended sessions, no stateful scenarios\n"
                "# (links would carry A's or D's id here), and these two run apart from the rest.\n"
                "[[operations]]\n"
                'include-operation-id = ["endSession", "transferSession"]\n'
                'parameters = { "path.id" = { dictionary = "ended", probability = 0.5 } }\n'
                "phases.stateful.enabled = false\n"
            )
        return path

    def schemathesis(self, label: str, user: str, *selection: str, max_examples: int | None = None) -> None:
        reports = os.path.join(self.data, f"schemathesis-{label}")
        argv = [
            "schemathesis", "--config-file", self.config, "run", SPEC,
            "--url", self.base,
            "-H", "Authorization: Bearer " + self.tokens[user],
            "--tls-verify", self.ca,
            "--checks", CHECKS,
            "--max-examples", str(max_examples or self.args.max_examples),
            "--workers", "1",
            "--generation-database", "none",
            "--request-timeout", "30",
            "--no-color",
            "--report", "json,ndjson",
            "--report-json-path", reports + ".json",
            "--report-ndjson-path", reports + ".ndjson",
            *selection,
        ]
        if self.args.seed is not None:
            argv += ["--seed", str(self.args.seed)]
        started = time.monotonic()
        print(f"schemathesis {label} …", flush=True)
        output = subprocess.run(argv, capture_output=True, text=True, cwd=self.data, timeout=600)
        text = output.stdout + output.stderr
        with open(reports + ".log", "w") as handle:
            handle.write(text)
        try:
            with open(reports + ".json") as handle:
                report = json.load(handle)
            known, new = classify(reports + ".ndjson")
        except (OSError, ValueError) as error:
            report, known, new = {}, {}, {"no report": f"{error!r}"}
        cases = report.get("test_cases", {})
        errors = [e["title"] for e in report.get("errors", [])]
        ok = report.get("complete") is True and not errors and not new and (output.returncode == 0 or known)
        if known and self.args.strict:
            ok = False
        summary = (
            f"{cases.get('generated', '?')} cases, {cases.get('unique_failures', 0)} unique failures"
            f" ({len(known)} known server bugs) in {time.monotonic() - started:.0f} s (seed {report.get('seed', '?')})"
        )
        self.fuzz.append((label, ok, summary))
        print(f"  {'ok' if ok else 'FAILED'} (exit {output.returncode}): {summary}", flush=True)
        for what, detail in known.items():
            print(f"  XFAIL {what}: {detail}", flush=True)
        for what, detail in new.items():
            print(f"  FAIL {what}: {detail}", flush=True)
        for title in errors:
            print(f"  ERROR {title}", flush=True)
        if not ok and not new:
            print(text[-4000:], flush=True)

    # ---- after fuzzing: what changes state ------------------------------------------------

    def post_fuzz(self) -> None:
        a = {"id": self.session_a}
        self.call("A is still live after fuzzing", "getSession", "aud", 200, path=a)
        live = self.get("root", f"/v1/sessions/{self.session_a}").json()
        self.record("fuzzing left A live", live["endedAt"] is None, json.dumps(live)[:200])
        self.call("transfer A while the queue is full: 503", "transferSession", "alice", 503, path=a, body={"line": "line2"})
        self.queue_customer.terminate()  # our own process: the basic customer leaves the queue
        self.queue_customer.wait(timeout=20)
        self.wait_for("the queue to shrink", lambda: len(self.get("alice", "/v1/queue").json()["entries"]) == 1)
        response = self.call("transfer A to bob: 202", "transferSession", "alice", 202, path=a, body={"agent": "bob", "note": "over to you"})
        if response is not None and response.status_code == 202:
            notice = response.json()
            self.record("202 is a pending session.transferred", notice.get("type") == "session.transferred" and notice.get("state") == "pending" and notice.get("toAgent") == "bob", json.dumps(notice))
        self.call("transfer A again: 409", "transferSession", "alice", 409, path=a, body={"line": "line3"})
        queue = self.call("queue holds the transfer", "listQueue", "bob", 200)
        if queue is not None:
            entries = queue.json()["entries"]
            self.record("queue: transfer entry for bob first", any(e["kind"] == "transfer" and e.get("toAgent") == "bob" and e["id"] == self.session_a for e in entries), json.dumps(entries)[:300])
        self.call("live list shows A transferring", "listLiveSessions", "root", 200)
        self.call("recording of live A: 409", "getRecording", "alice", 409, path=a)
        ended = self.call("admin ends A: 200", "endSession", "root", 200, path=a, body={"outcome": "escalated", "note": "ended by the API test"})
        if ended is not None and ended.status_code == 200:
            record = ended.json()
            self.record("A ended via the API", record["endReason"] == "ended-via-api" and record["outcome"] == "escalated" and record["endedBy"] == "root", json.dumps(record)[:300])
        self.call("end A again: 409", "endSession", "root", 409, path=a, body={"outcome": "resolved"})
        # A's customer (tandem join) answers the post-session survey from its input (§5.16).
        try:
            self.wait_for("A's customer to answer the survey", lambda: "Thank you for your answer." in self.log("customer-a.log"), timeout=20)
            self.record("tandem join sent the survey answer", True)
        except RuntimeError:
            self.record("tandem join sent the survey answer", False, self.log("customer-a.log")[-500:])
        events = self.get("aud", f"/v1/audit/sessions/{self.session_a}/events").json()["events"]
        answered = [e for e in events if e["kind"] == "survey.answered"]
        expected = {"solved": "yes", "score": "4", "comment": "answered by the API test"}
        ok = len(answered) == 1 and answered[0]["actor"] == "customer" and all(answered[0]["detail"].get(k) == v for k, v in expected.items())
        self.record("A's timeline has one survey.answered with the answer", ok, json.dumps(answered)[:300])
        # The recording is closed and hashed by the writer shortly after the end.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.get("aud", f"/v1/recordings/{self.session_a}").status_code != 200:
            time.sleep(0.5)
        response = self.call("recording of ended A: 200", "getRecording", "aud", 200, path=a)
        if response is not None and response.status_code == 200:
            disposition = header(response, "content-disposition")
            ok = response.content.startswith(b"TDREC\x01\r\n") and disposition == f'attachment; filename="{self.session_a}.tdrec"'
            self.record("recording is a .tdrec attachment", ok, f"{disposition!r} {response.content[:8]!r}")
        response = self.call("evidence bundle of ended A: 200", "getEvidenceBundle", "aud", 200, path=a)
        if response is not None and response.status_code == 200:
            disposition = header(response, "content-disposition")
            with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
                names = set(bundle.namelist())
                manifest = json.loads(bundle.read("manifest.json"))
            ok = disposition == f'attachment; filename="tandem-evidence-{self.session_a}.zip"' and manifest["format"] == "tandem-evidence/1"
            ok = ok and {"events.json", "public-key.pem", "summary.html", f"recording/{self.session_a}.tdrec"} <= names
            self.record("the bundle is a ZIP with its manifest, events, key, summary and recording", ok, f"{disposition!r} {sorted(names)}")
        response = self.call("evidence bundle without the recording", "getEvidenceBundle", "root", 200, path=a, query={"recording": "false"})
        if response is not None and response.status_code == 200:
            with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
                self.record("recording=false leaves the file out", not any(n.startswith("recording/") for n in bundle.namelist()), str(bundle.namelist()))
        self.call("evidence bundle with recording=maybe: 400", "getEvidenceBundle", "aud", 400, path=a, query={"recording": "maybe"})
        self.call("A's agent reads the recording too", "getRecording", "alice", 200, path=a)
        self.call("bob never took A: its recording is 404 to him", "getRecording", "bob", 404, path=a)
        response = self.call("late outcome on expired D: 200", "endSession", "alice", 200, path={"id": self.session_d}, body={"outcome": "abandoned", "note": "customer never came"})
        if response is not None and response.status_code == 200:
            record = response.json()
            self.record("D keeps its end reason, gets the outcome", record["endReason"] == "expired" and record["outcome"] == "abandoned", json.dumps(record)[:300])
        self.call("late outcome on D again: 409", "endSession", "alice", 409, path={"id": self.session_d}, body={"outcome": "resolved"})
        self.call("D's timeline has outcome.recorded", "getSessionEvents", "alice", 200, path={"id": self.session_d})
        events = self.get("alice", f"/v1/audit/sessions/{self.session_d}/events").json()["events"]
        self.record("outcome.recorded logged", any(e["kind"] == "outcome.recorded" for e in events), ", ".join(e["kind"] for e in events))
        self.call("stats after the changes (admin)", "getAuditStats", "root", 200)
        self.call("export events after the changes", "exportAudit", "root", 200, query={"what": "events", "format": "csv"})
        # Revoking a user (CLI only; not part of the API) turns its token away at once.
        self.tandem("users", "revoke", "bob", "--data-dir", self.data)
        self.call("revoked token: 401", "getAuditPublicKey", "bob", 401)

    def prune(self) -> None:
        self.call("prune in the future: 400", "pruneAuditLog", "root", 400, body={"before": "2999-01-01T00:00:00Z"})
        self.call("prune with a date only: 400", "pruneAuditLog", "root", 400, body={"before": "2020-01-01"})
        before = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(1)
        response = self.call("prune before now: 200", "pruneAuditLog", "root", 200, body={"before": before})
        if response is not None and response.status_code == 200:
            result = response.json()
            ok = result["removedEvents"] > 0 and result.get("checkpoint", {}).get("kind") == "prune" and result.get("prunedThroughSeq")
            self.record("prune removed events under a prune checkpoint", bool(ok), json.dumps(result)[:300])
        response = self.call("verify after the prune", "verifyAuditLog", "aud", 200)
        if response is not None and response.status_code == 200:
            report = response.json()
            self.record("log intact from the prune anchor", report["status"] == "intact" and report.get("prunedThroughSeq"), json.dumps(report)[:300])
        self.call("checkpoints include the prune", "listCheckpoints", "root", 200)

    # ---- main ----------------------------------------------------------------------------

    def main(self) -> int:
        import schemathesis

        self.schema = schemathesis.openapi.from_path(SPEC)
        try:
            self.setup()
            self.config = self.write_config()
            print("hand checks before fuzzing …", flush=True)
            self.unauthorized()
            self.websockets()
            self.routing()
            self.role_matrix()
            self.too_large()
            self.surveys()
            # End and transfer run apart: Schemathesis feeds ids it saw in any response of a run
            # (A's, D's) into every operation of that run, whatever the dictionaries say.
            reads = ["--exclude-tag", "websocket"] + [x for o in ("pruneAuditLog", "endSession", "transferSession") for x in ("--exclude-operation-id", o)]
            writes = ["--include-operation-id", "endSession", "--include-operation-id", "transferSession", "--phases", "examples,coverage,fuzzing"]
            for label, user in [("agent", "alice"), ("auditor", "aud"), ("admin", "root")]:
                self.schemathesis(label, user, *reads)
                self.schemathesis(label + "-end", user, *writes)
            print("hand checks after fuzzing …", flush=True)
            self.post_fuzz()
            self.schemathesis("admin-prune", "root", "--include-operation-id", "pruneAuditLog", "--phases", "examples,coverage,fuzzing", max_examples=10)
            self.prune()
        except Exception as error:  # noqa: BLE001 - report, clean up, fail
            traceback.print_exc()
            self.record("the run itself", False, f"{type(error).__name__}: {error}")
        finally:
            self.stop()
            if self.args.keep:
                print(f"kept {self.data}")
            else:
                shutil.rmtree(self.data, ignore_errors=True)
        return self.summary()

    def summary(self) -> int:
        counts: dict[str, int] = {}
        for status, _, _ in self.results:
            counts[status] = counts.get(status, 0) + 1
        print("\n==== summary ====")
        for status, name, detail in self.results:
            if status != "PASS":
                print(f"{status:5} {name}: {detail}")
        print("hand checks: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        for label, ok, summary in self.fuzz:
            print(f"schemathesis {label:12} {'ok' if ok else 'FAILED'}: {summary}")
        failed = counts.get("FAIL", 0) > 0 or counts.get("XPASS", 0) > 0 or not all(ok for _, ok, _ in self.fuzz) or len(self.fuzz) < 7
        print(f"total {time.monotonic() - self.started:.0f} s: {'FAILED' if failed else 'passed'}")
        return 1 if failed else 0


def classify(ndjson: str) -> tuple[dict[str, str], dict[str, str]]:
    """The failures a Schemathesis run recorded, as (known server bugs, new failures), each
    keyed by operation, status and failure code, with the request that triggered it."""
    known: dict[str, str] = {}
    new: dict[str, str] = {}
    with open(ndjson) as handle:
        for line in handle:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            for case_id, checks in recorder.get("checks", {}).items():
                for check in checks:
                    if check.get("status") != "failure":
                        continue
                    failure = check["failure_info"]["failure"]
                    interaction = recorder.get("interactions", {}).get(case_id) or {}
                    response = interaction.get("response") or {}
                    request = interaction.get("request") or {}
                    status = response.get("status_code")
                    key = f"{failure.get('operation')} [{status}] {failure.get('code')} {failure.get('title')}"
                    body = request.get("body") or ""
                    size = len(base64.b64decode(body.get("$base64", ""))) if isinstance(body, dict) else len(str(body).encode())
                    detail = f"{request.get('method')} {request.get('uri')} (body {size} bytes)"
                    bug = known_fuzz_bug(status, failure.get("code"))
                    if bug:
                        known.setdefault(key, f"{bug}; e.g. {detail}")
                    else:
                        new.setdefault(key, f"{' '.join(str(failure.get('message', '')).split())[:300]}; e.g. {detail}")
    return known, new


def known_fuzz_bug(status: int | None, code: str | None) -> str | None:
    """A Schemathesis failure that is a known server bug (see KNOWN_SERVER_BUGS)."""
    return None


def error_code(response) -> str | None:
    """The `code` of an API error body, or None when the body is not one."""
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def header(response, name: str) -> str | None:
    """A response header as one string (Schemathesis' responses keep lists)."""
    value = response.headers.get(name)
    return value[0] if isinstance(value, list) else value


def describe(error: BaseException) -> str:
    """Schemathesis' failures, one short line each."""
    failures = getattr(error, "exceptions", None) or [error]
    lines = []
    for failure in failures:
        title = getattr(failure, "title", None) or type(failure).__name__
        message = " ".join(str(getattr(failure, "message", "") or failure).split())
        lines.append(f"{title}: {message[:120]}")
    return " | ".join(lines)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("broker", help="the tandem binary, e.g. .build/debug/tandem")
    parser.add_argument("--max-examples", type=int, default=25, help="Schemathesis test cases per operation and phase (default 25)")
    parser.add_argument("--seed", type=int, help="Schemathesis seed, to repeat a run")
    parser.add_argument("--strict", action="store_true", help="known server bugs fail the run too")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(Run(parse()).main())
