"""End-to-end tests of tandem-device, the C customer client (Sources/tandem-device), against a
real broker (`tandem serve`, TLS, SQLite) and against a fake broker for what a real one does
not do on demand (redirects, throttling, hostile input, a refused resume).

1. A session with the agent CLI (`tandem session start --save-frames --annotations`): the
   device joins with the code through a TCP proxy, --source a folder of ffmpeg JPEGs; the
   frames the agent saves are byte-identical to the files; the agent's arrow, chat, freeze
   and unfreeze arrive as JSON lines; peer text is escaped on the terminal; stream.control
   pause/resume/quality are answered; the proxy cuts the connection and the device resumes
   (frames keep arriving; the audit log has participant.reconnected); SIGINT ends it (exit 0).
2. Refusals: an unknown code (exit 4, 4404), a used code (exit 4, 4409), a wrong CA and a
   certificate for another name (exit 3), a bad --source (exit 2).
3. --consent no with the join link: the agent gets no media; SIGTERM ends it (exit 0).
   --consent ask on a pseudo-terminal: the question names the agent, "y" shares.
4. A fake broker (Python websockets, the broker's certificate): other-broker with redirect
   (the device joins the real broker with the same code and key; the agent then ends the
   session through the API and the device exits 0), join-throttled (exit 5 with
   retryAfter), unsupported-version (exit 6); and a hostile session: malformed, oversized and
   deeply nested messages, garbage frames, control characters, two dropped connections (the
   device resumes with its token and announces its stream again, consent is not repeated),
   then resume-refused (exit 7).
5. valgrind --leak-check=full --error-exitcode=99: a short real session with --source pattern
   and the link (the PNG frames decode), and the hostile fake session: no errors, nothing
   definitely lost.
6. With a camera (/dev/video*) the V4L2 path would be tried; without one only its error.

usage: python3 Tests/device/device_test.py path/to/tandem path/to/tandem-device [path/to/unit_test]
"""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Tests", "browser"))
from proxy import Proxy  # noqa: E402

TANDEM = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, ".build", "debug", "tandem"))
DEVICE = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, ".build", "debug", "tandem-device"))
UNIT = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(DEVICE), "unit_test")
passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL {name} {str(detail)[:2000]}", flush=True)


def wait_for(condition, timeout=20, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


class Running:
    """A child process whose merged output is collected line by line as it comes."""

    def __init__(self, args, env, stdin=subprocess.DEVNULL, log=None):
        self.lines = []
        self.log = log
        self.process = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", "replace"))
            if self.log:
                with open(self.log, "ab") as f:
                    f.write(raw)

    @property
    def raw_text(self):
        return "".join(self.lines)

    def saw(self, pattern):
        return any(re.search(pattern, line) for line in self.lines)

    def wait_line(self, pattern, timeout=20):
        return wait_for(lambda: self.saw(pattern), timeout)

    def finish(self, timeout=30):
        """Waits for the exit and for the last of its output; None when it had to be killed."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        self.reader.join(5)
        return code


def tandem(*args, token=None, env=None, timeout=60):
    environment = dict(env or os.environ)
    if token:
        environment["TANDEM_TOKEN"] = token
    return subprocess.run([TANDEM, *args], capture_output=True, text=True, env=environment, timeout=timeout)


def start_broker(data, log):
    process = subprocess.Popen([TANDEM, "serve", "--port", "0", "--data-dir", data], stdout=subprocess.PIPE,
                               stderr=open(log, "w"), text=True)
    for line in process.stdout:
        match = re.search(r"listening on https://127\.0\.0\.1:(\d+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, int(match.group(1))
    raise AssertionError("tandem serve did not start")


def start_agent(env, token, save_dir, script=None, log=None):
    """`tandem session start`; returns (process, session id, code, link)."""
    args = [TANDEM, "session", "start", "--ticket", "HD-DEV", "--mode", "camera", "--save-frames", save_dir]
    if script:
        args += ["--annotations", script]
    agent = Running(args, dict(env, TANDEM_TOKEN=token), log=log)
    assert agent.wait_line(r"Join link:"), agent.raw_text
    text = agent.raw_text
    session = re.search(r"Session (s_\w+)", text).group(1)
    code = re.search(r"Join code:\s+(\S+)", text).group(1)
    link = re.search(r"Join link:\s+(\S+)", text).group(1)
    return agent, session, code, link


def saved_frames(directory, ext="jpg"):
    """{sequence: path} of the customer's stream 1 (FrameSaver: customer-s1-SEQUENCE.EXT)."""
    frames = {}
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            match = re.fullmatch(r"customer-s1-(\d{10})\." + ext, name)
            if match:
                frames[int(match.group(1))] = os.path.join(directory, name)
    return frames


def json_lines(path):
    items = []
    if os.path.exists(path):
        with open(path, "rb") as f:
            for raw in f.read().split(b"\n"):
                if raw:
                    items.append(json.loads(raw))
    return items


def png_pixels_ok(path):
    return png_ok(open(path, "rb").read())


def png_ok(data):
    """Decodes a PNG with zlib (every chunk's CRC checked); True when its data has the size of its header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    at, idat, size = 8, b"", None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            return False
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    raw = zlib.decompress(idat)
    return size is not None and len(raw) == (size[0] * 3 + 1) * size[1]


def has_raw_controls(text):
    """Whether terminal output holds a control character other than line feed."""
    return any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in text)


def valgrind_clean(log):
    text = open(log, errors="replace").read()
    errors = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    definite = re.search(r"definitely lost: ([\d,]+) bytes", text)
    no_leaks = "All heap blocks were freed" in text or (definite is not None and definite.group(1) == "0")
    return errors is not None and errors.group(1) == "0" and no_leaks, text[-3000:]


# --- the fake broker ------------------------------------------------------------------------


class FakeBroker:
    """A TLS WebSocket server with the broker's certificate that plays one scenario."""

    def __init__(self, cert, key, scenario, redirect=None):
        self.scenario = scenario
        self.redirect = redirect
        self.connections = []  # per connection: {"hello": {...}, "texts": [...], "frames": [...]}
        self.done = threading.Event()
        self.ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl.load_cert_chain(cert, key)
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self):
        from websockets.asyncio.server import serve
        async with serve(self._handle, "127.0.0.1", 0, ssl=self.ssl, subprotocols=["tandem.v1"], max_size=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self.ready.set()
            await asyncio.get_running_loop().create_future()

    async def _recv(self, ws, record, timeout=15):
        message = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(message, bytes):
            record["frames"].append(message)
        else:
            record["texts"].append(json.loads(message))
        return message

    async def _until(self, ws, record, predicate, timeout=15):
        deadline = time.time() + timeout
        while not predicate():
            await self._recv(ws, record, max(0.1, deadline - time.time()))

    async def _handle(self, ws):
        record = {"hello": None, "texts": [], "frames": [], "subprotocol": ws.subprotocol}
        self.connections.append(record)
        index = len(self.connections)
        try:
            record["hello"] = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if self.scenario == "redirect":
                await ws.send(json.dumps({"type": "error", "code": "other-broker", "message": "this code belongs to another broker",
                                          "redirect": self.redirect}))
                await ws.close(4421, "other broker")
            elif self.scenario == "throttled":
                await ws.send(json.dumps({"type": "error", "code": "join-throttled", "message": "too many wrong codes; try again in 7 s",
                                          "retryAfter": 7}))
                await ws.close(4430, "throttled")
            elif self.scenario == "unsupported":
                await ws.send(json.dumps({"type": "error", "code": "unsupported-version", "message": "protocol 1 only"}))
                await ws.close(4426, "unsupported version")
            elif self.scenario == "hostile":
                await self._hostile(ws, record, index)
        except Exception as error:  # the device went away, or a timeout
            record["error"] = repr(error)
        finally:
            if self.scenario != "hostile" or index >= 3:
                self.done.set()

    async def _hostile(self, ws, record, index):
        texts = record["texts"]
        if index == 1:
            await ws.send(json.dumps({"type": "session.joined", "sessionId": "s_fakefakefakefake", "ticket": "T\u001b]0;pwned\u0007",
                                      "mode": "camera", "agent": "ev\u001b[31mil\u202e", "resumeToken": "tdr_one", "codecs": ["jpeg", "png"]}))
            await self._until(ws, record, lambda: len(record["frames"]) >= 3)
            hostile = [
                "not json at all",
                "[1,2,3]",
                '{"type":123}',
                '{"type":"chat","text":' + "[" * 5000 + "]" * 5000 + "}",
                json.dumps({"type": "chat", "from": "agent", "text": "clear\u001b[2J bell\u0007 csi\u009b nl\nforged \u2028 rtl\u202e"}),
                json.dumps({"type": "chat", "from": "agent", "text": "x" * 200_000}),
                json.dumps({"type": "chat", "from": "agent", "text": "y" * 300_000}),
                # Raw control characters (cJSON takes them): 200 KB that escape to 1.2 MB, over the line cap.
                '{"type":"chat","from":"agent","text":"' + "\u0001" * 200_000 + '"}',
                json.dumps({"type": "annotation", "op": "add", "owner": "customer", "streamId": 1, "author": "agent",
                            "shape": {"id": "t\u009b1", "kind": "text", "color": "#ffffff", "width": 5, "points": [[0.1, 0.1]],
                                      "text": "line\u2028sep\u0085nel\u007fdel", "author": "agent"}}),
                json.dumps({"type": "stream.control", "streamId": "1", "action": "pause"}),
                json.dumps({"type": "stream.control", "streamId": 1, "action": "quality", "fps": 1e308}),
                json.dumps({"type": "stream.control", "streamId": 1, "action": "quality", "fps": 4, "quality": 0.3, "bitrate": 50000}),
                json.dumps({"type": "stream.control", "streamId": 1, "action": "keyframe", "origin": "broker"}),
                json.dumps({"type": "freeze", "owner": "customer", "streamId": 1, "sequence": 1e300, "author": "agent"}),
                json.dumps({"type": "error", "code": "weird\u001b[1m", "message": "m\u202e\n"}),
                json.dumps({"type": "session.presence", "present": [{"name": "n%d\u001b" % i, "role": "agent"} for i in range(1000)]}),
                json.dumps({"type": "overlay.snapshot", "owner": "customer", "streamId": 1, "shapes": [], "frozenSequence": 2}),
                json.dumps({"type": "voice", "enabled": True}),
                json.dumps({"type": "some.future.type", "x": 1}),
                json.dumps({"type": "session.joined", "agent": "again"}),
            ]
            for message in hostile:
                await ws.send(message)
            await ws.send(os.urandom(1000))
            await ws.send(bytes([1, 24, 1, 1, 9, 0]) + bytes(18))  # codec 9: skipped
            await ws.send(bytes([1, 24, 1, 1, 1, 0, 0, 1]) + bytes(12) + struct.pack(">I", 2_000_000) + bytes(2_000_000))
            await ws.send(json.dumps({"type": "stream.control", "streamId": 1, "action": "pause"}))
            await self._until(ws, record, lambda: any(t.get("type") == "stream.pause" for t in texts))
            await ws.send(json.dumps({"type": "stream.control", "streamId": 1, "action": "resume"}))
            await self._until(ws, record, lambda: any(t.get("type") == "stream.resume" for t in texts))
            frames_before = len(record["frames"])
            await self._until(ws, record, lambda: len(record["frames"]) >= frames_before + 2)
            ws.transport.abort()  # a dropped connection: no close frame
        elif index == 2:
            await ws.send(json.dumps({"type": "session.resumed", "sessionId": "s_fakefakefakefake", "role": "customer", "ticket": "T",
                                      "mode": "camera", "agent": "evil", "peerPresent": True, "resumeToken": "tdr_two"}))
            await self._until(ws, record, lambda: len(record["frames"]) >= 2)
            ws.transport.abort()
        else:
            await ws.send(json.dumps({"type": "error", "code": "resume-refused", "message": "the session ended"}))
            await ws.close(4411, "resume refused")


def frames_valid(frames, codec):
    """Each binary message is a v1 frame of `codec` on stream 1, keyframe, sequences rising."""
    last = None
    for frame in frames:
        version, header_length, kind, flags, codec_byte, _, stream, sequence, _, length = struct.unpack(">BBBBBBHIQI", frame[:24])
        if (version, header_length, kind, flags & 1, codec_byte, stream) != (1, 24, 1, 1, codec, 1) or length != len(frame) - 24:
            return False
        if last is not None and sequence <= last:
            return False
        last = sequence
    return bool(frames)


def fake_tests(work, cert, key, base, env, alice, valgrind):
    try:
        import websockets  # noqa: F401
    except ImportError:
        print("skip the fake-broker tests: the Python websockets package is missing")
        return
    device_env = dict(env)
    device_env.pop("TANDEM_SERVER", None)

    # other-broker: the device joins the redirect with the same code and key.
    save = os.path.join(work, "redirect-frames")
    agent, session, code, link = start_agent(env, alice, save, log=os.path.join(work, "agent-redirect.log"))
    fake = FakeBroker(cert, key, "redirect", redirect=base)
    key_value = link.split("#k=")[1]
    fake_link = f"https://127.0.0.1:{fake.port}/j/{code.replace('-', '')}#k={key_value}"
    device = Running([DEVICE, "join", fake_link, "--consent", "yes", "--source", os.path.join(work, "jpg"), "--fps", "10"], device_env)
    device.wait_line(r"first frame", 20)
    # The agent ends the session through the API: the device exits 0 when session.ended comes.
    ended = tandem("session", "end", session, "--outcome", "resolved", token=alice, env=env)
    code_exit = device.finish(30)
    hello = fake.connections[0]["hello"] if fake.connections else {}
    check("the device's hello has the fields of §5.1 (code, link key, client, codecs) over subprotocol tandem.v1",
          hello.get("type") == "hello" and hello.get("protocol") == 1 and hello.get("role") == "customer"
          and hello.get("code") == code.replace("-", "") and hello.get("key") == key_value
          and hello.get("client") == "tandem-device/0.1" and hello.get("codecs") == ["jpeg", "png", "webp"]
          and fake.connections[0]["subprotocol"] == "tandem.v1", (hello, fake.connections[:1]))
    check("other-broker with a redirect: the device joins the broker it names with the same code and key",
          device.saw(r"joining there") and agent.wait_line(r"customer joined", 5), (code_exit, device.raw_text))
    check("the agent ends the session through the API: the device prints the reason and outcome and exits 0",
          code_exit == 0 and device.saw(r"Session ended \(ended-via-api, outcome resolved\)"), (code_exit, ended.stderr, device.raw_text))
    agent.finish(20)

    # join-throttled: exit 5 with retryAfter; unsupported-version: exit 6.
    for scenario, expected, pattern in (("throttled", 5, r"try again in 7 s.*4430"), ("unsupported", 6, r"4426")):
        fake = FakeBroker(cert, key, scenario)
        device = Running([DEVICE, "join", "111-222-333-444", "--consent", "yes", "--server", f"https://127.0.0.1:{fake.port}"], device_env)
        code_exit = device.finish(30)
        check(f"{scenario}: exit {expected} with a message naming the close code", code_exit == expected and device.saw(pattern),
              (code_exit, device.raw_text))

    # A hostile session, dropped twice, then resume refused: exit 7.
    runs = [("", [])]
    if valgrind:
        runs.append((" under valgrind", ["valgrind", "--leak-check=full", "--error-exitcode=99", "--log-file=" + os.path.join(work, "valgrind-hostile.log")]))
    for label, prefix in runs:
        fake = FakeBroker(cert, key, "hostile")
        out = os.path.join(work, f"hostile{len(prefix)}.jsonl")
        device = Running(prefix + [DEVICE, "join", "111-222-333-444", "--consent", "yes", "--source", "pattern", "--fps", "20",
                                   "--annotations-out", out, "--server", f"https://127.0.0.1:{fake.port}"], device_env,
                         log=os.path.join(work, f"device-hostile{len(prefix)}.log"))
        code_exit = device.finish(120 if prefix else 60)
        fake.done.wait(5)
        conns = fake.connections
        check(f"hostile broker{label}: the device survives, resumes twice and exits 7 when the resume is refused",
              code_exit == 7 and len(conns) == 3 and device.saw(r"refused to resume.*4411"), (code_exit, device.raw_text[-3000:], [c.get("error") for c in conns]))
        if len(conns) < 3:
            continue
        first, second, third = conns
        check(f"hostile broker{label}: resume hellos carry the token of the previous welcome and no code",
              second["hello"].get("resume") == "tdr_one" and third["hello"].get("resume") == "tdr_two"
              and "code" not in second["hello"] and second["hello"].get("role") == "customer", (second["hello"], third["hello"]))
        kinds = [t.get("type") for t in first["texts"]]
        check(f"hostile broker{label}: consent, then stream.start (png 160x120), then valid PNG frames on stream 1",
              kinds[:2] == ["consent", "stream.start"] and first["texts"][1].get("codec") == "png"
              and first["texts"][1].get("width") == 160 and frames_valid(first["frames"], 2)
              and all(png_ok(f[24:]) for f in first["frames"][:3]), first["texts"][:3])
        check(f"hostile broker{label}: pause and resume are answered with stream.pause and stream.resume; a string streamId is ignored",
              kinds.count("stream.pause") == 1 and kinds.count("stream.resume") == 1, kinds)
        check(f"hostile broker{label}: the voice request is answered no (no microphone)",
              {"type": "consent", "granted": False, "source": "microphone"} in first["texts"], first["texts"])
        second_kinds = [t.get("type") for t in second["texts"]]
        check(f"hostile broker{label}: after the resume the stream is announced again, consent is not repeated, frames go on",
              second_kinds[:1] == ["stream.start"] and "consent" not in second_kinds and frames_valid(second["frames"], 2)
              and struct.unpack(">I", second["frames"][0][8:12])[0] > struct.unpack(">I", first["frames"][-1][8:12])[0], second_kinds)
        lines = json_lines(out)
        raw = open(out, "rb").read()
        texts = [line.get("text", "") for line in lines if line.get("type") == "chat"]
        check(f"hostile broker{label}: chat and annotations are JSON lines, peer text escaped (no raw controls, U+2028, C1 or bidi), "
              "a line over 1 MiB replaced by a stub",
              any("\u001b[2J" in t for t in texts) and any(len(t) == 200_000 for t in texts)
              and not any(len(t) == 300_000 for t in texts)
              and {"type": "chat", "truncated": True, "maxBytes": 1048576} in lines
              and any(line.get("type") == "annotation" for line in lines) and any(line.get("type") == "overlay.snapshot" for line in lines)
              and b"\\u2028" in raw and b"\\u009B" in raw and b"\\u202E" in raw and b"\\u007F" in raw
              and not has_raw_controls(raw.decode("utf-8")), [line.get("type") for line in lines])
        check(f"hostile broker{label}: the terminal output has no raw control characters; oversized messages are reported",
              not has_raw_controls(device.raw_text) and device.saw(r"\\u\{1B\}\[2J") and device.saw(r"more than 256 KiB")
              and device.saw(r"ev\\u\{1B\}\[31mil\\u\{202E\}"), device.raw_text[-2000:])
        if prefix:
            clean, tail = valgrind_clean(os.path.join(work, "valgrind-hostile.log"))
            check("hostile broker under valgrind: no memory errors, nothing definitely lost", clean, tail)


def main():
    for tool in ("ffmpeg",):
        if not shutil.which(tool):
            print(f"{tool} is needed")
            sys.exit(2)
    valgrind = shutil.which("valgrind") is not None
    work = tempfile.mkdtemp(prefix="tandem-device-")
    print(f"work directory: {work}")
    data = os.path.join(work, "data")
    broker, port = start_broker(data, os.path.join(work, "broker.log"))
    try:
        base = f"https://127.0.0.1:{port}"
        ca = os.path.join(data, "certs", "ca.pem")
        env = dict(os.environ, TANDEM_SERVER=base, TANDEM_CA=ca)
        alice = tandem("users", "add", "alice", "--role", "agent", "--data-dir", data).stdout.strip().splitlines()[-1]
        audrey = tandem("users", "add", "audrey", "--role", "auditor", "--data-dir", data).stdout.strip().splitlines()[-1]
        jpg = os.path.join(work, "jpg")
        os.makedirs(jpg)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=1", "-frames:v", "3",
                        os.path.join(jpg, "f%02d.jpg")], check=True)
        sources = [open(os.path.join(jpg, name), "rb").read() for name in sorted(os.listdir(jpg))]
        device_env = dict(env)
        device_env.pop("TANDEM_SERVER")

        # --- 1. a session through a proxy: frames, annotations, control, resume, end -------------
        script = os.path.join(work, "agent-script.jsonl")
        with open(script, "w") as f:
            for line in [
                {"sleepMs": 300},
                {"type": "annotation", "op": "add", "owner": "customer", "streamId": 1,
                 "shape": {"id": "a1", "kind": "arrow", "color": "#ff3b30", "width": 6, "points": [[0.2, 0.8], [0.6, 0.4]]}},
                {"type": "chat", "text": "look here\u001b[2J\nforged line \u202e"},
                {"type": "freeze", "owner": "customer", "streamId": 1, "sequence": 1},
                {"type": "unfreeze", "owner": "customer", "streamId": 1},
                {"type": "stream.control", "streamId": 1, "action": "keyframe"},
                {"type": "stream.control", "streamId": 1, "action": "quality", "fps": 2, "quality": 0.5},
                {"type": "stream.control", "streamId": 1, "action": "pause"},
                {"sleepMs": 1500},
                {"type": "stream.control", "streamId": 1, "action": "resume"},
                {"type": "stream.control", "streamId": 1, "action": "quality", "fps": 10},
            ]:
                f.write(json.dumps(line) + "\n")
        save = os.path.join(work, "frames")
        agent, session, code, link = start_agent(env, alice, save, script, log=os.path.join(work, "agent.log"))
        proxy = Proxy(port)
        out = os.path.join(work, "annotations.jsonl")
        device = Running([DEVICE, "join", code, "--ca", ca, "--server", f"https://127.0.0.1:{proxy.port}", "--consent", "yes",
                          "--source", jpg, "--fps", "5", "--annotations-out", out], device_env, log=os.path.join(work, "device.log"))
        check("the device joins with the code and shares the folder",
              device.wait_line(r"Joined alice's session") and device.wait_line(r"Sharing 3 JPEG files") is not None
              and agent.wait_line(r"customer joined \(tandem-device/0\.1\)"), device.raw_text + agent.raw_text)
        lines = wait_for(lambda: (lambda items: items if {"annotation", "chat", "freeze", "unfreeze"} <= {i.get("type") for i in items} else None)(json_lines(out)), 20) or json_lines(out)
        arrow = [i for i in lines if i.get("type") == "annotation"]
        check("the agent's arrow arrives in the device's JSON lines",
              arrow and arrow[0].get("op") == "add" and arrow[0]["shape"]["id"] == "a1" and arrow[0]["shape"]["kind"] == "arrow"
              and arrow[0].get("author") == "agent" and arrow[0].get("owner") == "customer", lines)
        chats = [i for i in lines if i.get("type") == "chat"]
        check("chat, freeze and unfreeze arrive as JSON lines with the peer text intact",
              chats and chats[0].get("text") == "look here\u001b[2J\nforged line \u202e"
              and any(i.get("type") == "freeze" and i.get("sequence") == 1 for i in lines), lines)
        check("the chat is printed with its control characters escaped",
              device.wait_line(r"agent: look here\\u\{1B\}\[2J\\nforged line \\u\{202E\}") and not has_raw_controls(device.raw_text),
              device.raw_text)
        check("stream.control: a keyframe request is noted, quality caps the frame rate (the files' quality cannot change)",
              device.wait_line(r"asked for a keyframe") and device.wait_line(r"asked for 2 fps: now sending 2 fps")
              and device.wait_line(r"cannot change"), device.raw_text)
        check("stream.control pause and resume: the device sends stream.pause and stream.resume",
              device.wait_line(r"Paused sharing") and device.wait_line(r"Sharing again")
              and agent.wait_line(r"customer paused stream 1") and agent.wait_line(r"customer resumed stream 1"),
              device.raw_text + agent.raw_text)
        check("a later quality request replaces the cap, up to --fps", device.wait_line(r"asked for 10 fps: now sending 5 fps"), device.raw_text)
        wait_for(lambda: len(saved_frames(save)) >= 8, 20)
        frames = saved_frames(save)
        identical = all(open(path, "rb").read() == sources[sequence % 3] for sequence, path in frames.items())
        check(f"the agent saved {len(frames)} frames, each byte-identical to its source JPEG", len(frames) >= 8 and identical,
              sorted(frames)[:20])

        # Cut the connection at the proxy (RST): the device resumes with its token.
        before = max(frames) if frames else -1
        proxy.cut()
        check("after the cut the device reconnects with its resume token",
              device.wait_line(r"The connection was lost", 15) and device.wait_line(r"Reconnected after", 30), device.raw_text)
        check("the agent sees the customer come back", agent.wait_line(r"the customer is back", 20), agent.raw_text)
        resumed = wait_for(lambda: len([s for s in saved_frames(save) if s > before]) >= 5, 30)
        frames = saved_frames(save)
        check("frames keep arriving at the agent after the resume, still byte-identical",
              resumed and all(open(p, "rb").read() == sources[s % 3] for s, p in frames.items()), sorted(frames)[-10:])
        audit = tandem("audit", "show", session, "--json", token=audrey, env=env)
        try:
            events = json.loads(audit.stdout)["events"]
        except (ValueError, KeyError):
            events = []
        kinds = [e["kind"] for e in events]
        check("the audit log has participant.disconnected and participant.reconnected for the customer",
              "participant.disconnected" in kinds and any(e["kind"] == "participant.reconnected" and e["detail"].get("role") == "customer"
                                                          for e in events), (kinds, audit.stderr))
        device.process.send_signal(signal.SIGINT)
        code_exit = device.finish(15)
        check("SIGINT: the device sends session.end, gets session.ended and exits 0",
              code_exit == 0 and device.saw(r"Session ended \(customer-left\)"), (code_exit, device.raw_text[-1500:]))
        check("the agent sees the session end", agent.finish(20) is not None and agent.saw(r"session ended: customer-left"), agent.raw_text[-1500:])
        proxy.close()

        # --- 2. refusals ---------------------------------------------------------------------------
        wrong = Running([DEVICE, "join", "000-000-000-000", "--ca", ca, "--server", base, "--consent", "yes"], device_env)
        check("an unknown code: exit 4 and a message naming 4404", wrong.finish(30) == 4 and wrong.saw(r"4404"), wrong.raw_text)
        used = Running([DEVICE, "join", code, "--ca", ca, "--server", base, "--consent", "yes"], device_env)
        check("a used code: exit 4 and a message naming 4409", used.finish(30) == 4 and used.saw(r"4409"), used.raw_text)
        other_ca = os.path.join(work, "other-ca.pem")
        made = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                               os.path.join(work, "other-ca.key"), "-out", other_ca, "-subj", "/CN=Another CA", "-days", "1"],
                              capture_output=True)
        if made.returncode == 0:
            bad = Running([DEVICE, "join", "000-000-000-000", "--ca", other_ca, "--server", base, "--consent", "yes"], device_env)
            check("a broker certificate from another CA: exit 3, certificate named", bad.finish(30) == 3 and bad.saw(r"certificate"), bad.raw_text)
        name = socket.gethostname()
        try:
            resolves = socket.gethostbyname(name).startswith("127.") and name != "localhost"
        except OSError:
            resolves = False
        if resolves:
            bad = Running([DEVICE, "join", "000-000-000-000", "--ca", ca, "--server", f"https://{name}:{port}", "--consent", "yes"], device_env)
            check(f"a certificate not issued for the host ({name}): exit 3", bad.finish(30) == 3 and bad.saw(r"not issued for " + re.escape(name)),
                  bad.raw_text)
        else:
            print("skip the host-name check: the host name does not resolve to a loopback address")
        bad = Running([DEVICE, "join", "000-000-000-000", "--ca", ca, "--server", base, "--consent", "yes", "--source", os.path.join(work, "nope")],
                      device_env)
        check("a --source that does not exist: exit 2", bad.finish(30) == 2 and bad.saw(r"nope"), bad.raw_text)
        cameras = [f"/dev/{n}" for n in os.listdir("/dev") if n.startswith("video")]
        if not cameras:
            bad = Running([DEVICE, "join", "000-000-000-000", "--ca", ca, "--consent", "yes", "--source", "/dev/video0"], device_env)
            check("no camera: --source /dev/video0 exits 2 with a clear error", bad.finish(30) == 2 and bad.saw(r"camera /dev/video0"), bad.raw_text)
            print("skip the V4L2 streaming test: no /dev/video* device")
        bad = Running([DEVICE, "join", "000-000-000-000", "--ca", ca, "--server", base], device_env)
        check("--consent ask without a terminal: exit 2", bad.finish(30) == 2 and bad.saw(r"not a terminal"), bad.raw_text)

        # --- 3. --consent no, joining with the link --------------------------------------------------
        save_no = os.path.join(work, "frames-no")
        agent, session, code, link = start_agent(env, alice, save_no, log=os.path.join(work, "agent-no.log"))
        device = Running([DEVICE, "join", link, "--ca", ca, "--consent", "no", "--source", jpg], device_env)
        check("--consent no with the join link: the agent is told the customer declined",
              agent.wait_line(r"declined to share") and device.wait_line(r"Not sharing anything"), agent.raw_text + device.raw_text)
        time.sleep(1.5)
        check("--consent no: no media reaches the agent", not saved_frames(save_no), os.listdir(save_no) if os.path.isdir(save_no) else [])
        device.process.send_signal(signal.SIGTERM)
        check("SIGTERM ends the session too (exit 0)", device.finish(15) == 0 and device.saw(r"Session ended"), device.raw_text)
        agent.finish(20)

        # --- 3b. --consent ask on a terminal (a pseudo-terminal) ------------------------------------
        import pty
        import select
        save_ask = os.path.join(work, "frames-ask")
        agent, session, code, link = start_agent(env, alice, save_ask, log=os.path.join(work, "agent-ask.log"))
        master, slave = pty.openpty()
        device = subprocess.Popen([DEVICE, "join", code, "--ca", ca, "--server", base, "--source", jpg, "--max-frames", "3"], stdin=slave, stdout=slave,
                                  stderr=slave, env=device_env)
        os.close(slave)
        seen = b""

        def read_until(pattern, timeout=20):
            nonlocal seen
            deadline = time.time() + timeout
            while time.time() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    try:
                        seen += os.read(master, 4096)
                    except OSError:
                        break
                if re.search(pattern, seen):
                    return True
            return False

        asked = read_until(rb"Share your camera with alice\? \[y/N\] ")
        os.write(master, b"y\n")
        ended = read_until(rb"Session ended")
        code_exit = device.wait(timeout=20)
        os.close(master)
        check("--consent ask on a terminal: the question names the agent; 'y' shares; --max-frames 3 leaves (exit 0)",
              asked and ended and code_exit == 0 and len(saved_frames(save_ask)) >= 2, seen.decode(errors="replace"))
        agent.finish(20)

        # --- 4. the fake broker ------------------------------------------------------------------------
        fake_tests(work, os.path.join(data, "certs", "server.pem"), os.path.join(data, "certs", "server.key.pem"), base, env, alice, valgrind)

        # --- 5. valgrind on a real session: pattern source (PNG), link, --max-frames ------------------
        if valgrind:
            save_vg = os.path.join(work, "frames-valgrind")
            agent, session, code, link = start_agent(env, alice, save_vg, log=os.path.join(work, "agent-valgrind.log"))
            log = os.path.join(work, "valgrind.log")
            device = Running(["valgrind", "--leak-check=full", "--error-exitcode=99", f"--log-file={log}", DEVICE, "join", link, "--ca", ca,
                              "--consent", "yes", "--source", "pattern", "--fps", "5", "--max-frames", "6",
                              "--annotations-out", os.path.join(work, "valgrind.jsonl")], device_env)
            code_exit = device.finish(120)
            clean, tail = valgrind_clean(log)
            check("under valgrind a short session (pattern source, link) ends with exit 0", code_exit == 0 and device.saw(r"Session ended"),
                  (code_exit, device.raw_text))
            check("valgrind: no memory errors, nothing definitely lost", clean, tail)
            agent.finish(20)
            pngs = saved_frames(save_vg, "png")
            check(f"the pattern's {len(pngs)} PNG frames decode (CRCs, zlib stream, size)", len(pngs) >= 4 and all(png_pixels_ok(p) for p in pngs.values()),
                  sorted(pngs))
        else:
            print("skip the valgrind tests: valgrind is not installed")

        # --- 6. MJPEG without Huffman tables: the standard ones are added -----------------------------
        if os.path.exists(UNIT):
            original = os.path.join(work, "huff.jpg")
            subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=1", "-frames:v", "1",
                            "-huffman", "default", "-pix_fmt", "yuvj422p", original], check=True)
            data_bytes = open(original, "rb").read()
            stripped, at = bytearray(data_bytes[:2]), 2
            while data_bytes[at + 1] != 0xDA:
                length = (data_bytes[at + 2] << 8) | data_bytes[at + 3]
                if data_bytes[at + 1] != 0xC4:
                    stripped += data_bytes[at:at + 2 + length]
                at += 2 + length
            stripped += data_bytes[at:]
            bare, fixed = os.path.join(work, "huff-bare.jpg"), os.path.join(work, "huff-fixed.jpg")
            open(bare, "wb").write(stripped)
            subprocess.run([UNIT, "--fix-jpeg", bare, fixed], check=True)

            def decoded(path):
                return subprocess.run(["ffmpeg", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                                      capture_output=True).stdout

            check("an MJPEG frame without DHT gets the standard Huffman tables and decodes to the same picture",
                  b"\xff\xc4" not in stripped and b"\xff\xc4" in open(fixed, "rb").read() and decoded(fixed) == decoded(original) != b"")
        else:
            print(f"skip the Huffman-table check: no unit_test at {UNIT}")
    finally:
        broker.send_signal(signal.SIGINT)
        try:
            broker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            broker.kill()
    print(f"\n{passed} passed, {failed} failed (logs in {work})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
