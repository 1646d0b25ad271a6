"""Attacks on the broker's admission budgets (protocol/README.md §13), standard library
only, loopback only, bounded in count and time. Prints one JSON line of what happened.

usage:
  admission_attack.py prehello HOST PORT CA PATH COUNT ANNOUNCE
      COUNT connections each announce a message of ANNOUNCE bytes as their first frame
      and send only 1000 bytes of it; reports each close code and how long it took.
  admission_attack.py upgrades HOST PORT CA PATH COUNT SOURCE
      COUNT upgrades from SOURCE at the same moment (one barrier), held until every answer
      is in; reports how many got 101 and how many 429.
  admission_attack.py abort HOST PORT CA PATH COUNT
      COUNT connections each send an upgrade request and close at once, without waiting
      for the answer; reports how many were sent.
  admission_attack.py slowhttp HOST PORT CA COUNT SOURCE SECONDS [TOKEN]
      SOURCE opens up to COUNT connections that each start a POST and drip a byte a second:
      of its head (no TOKEN), or of its body after a complete head with TOKEN (an agent's,
      so the broker waits for the body). After 1 s a client from 127.0.0.1 asks for
      /healthz. Reports how many attacker connections were open then, how long /healthz
      took, and how many were still open SECONDS later.
  admission_attack.py early401 HOST PORT CA
      a POST without a token that announces a 1000-byte body and sends 10 bytes: reports the
      status and whether the broker closed the connection after answering.
"""
import base64
import ipaddress
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time


def connect(host, port, ca, source=None, timeout=10):
    context = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0) if source else None)
    return context.wrap_socket(raw, server_hostname="localhost")


def upgrade_request(host, port, path):
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: tandem.v1\r\n\r\n"
    ).encode()


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n")[0].decode(errors="replace")


def frame_header(length, opcode=0x2, fin=True):
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        head = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, length)
    return head + os.urandom(4)


def read_close(sock, limit):
    """Reads frames until a close frame or the end; returns (close code or None, seconds)."""
    start = time.monotonic()
    sock.settimeout(limit)
    buffer = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return None, time.monotonic() - start
            buffer += chunk
            while len(buffer) >= 2:
                opcode = buffer[0] & 0x0F
                length = buffer[1] & 0x7F
                offset = 2
                if length == 126:
                    if len(buffer) < 4:
                        break
                    length = struct.unpack("!H", buffer[2:4])[0]
                    offset = 4
                elif length == 127:
                    if len(buffer) < 10:
                        break
                    length = struct.unpack("!Q", buffer[2:10])[0]
                    offset = 10
                if len(buffer) < offset + length:
                    break
                payload = buffer[offset:offset + length]
                buffer = buffer[offset + length:]
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    return code, time.monotonic() - start
    except (socket.timeout, ssl.SSLError, OSError):
        return "timeout", time.monotonic() - start


def prehello(host, port, ca, path, count, announce):
    results = [None] * count

    def attack(index):
        try:
            sock = connect(host, port, ca)
            sock.sendall(upgrade_request(host, port, path))
            status = read_head(sock)
            if " 101 " not in status:
                results[index] = {"status": status}
                return
            sock.sendall(frame_header(announce) + os.urandom(1000))
            code, seconds = read_close(sock, 20)
            results[index] = {"close": code, "seconds": round(seconds, 3)}
            sock.close()
        except Exception as error:  # noqa: BLE001 - reported, not hidden
            results[index] = {"error": repr(error)}

    threads = [threading.Thread(target=attack, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    print(json.dumps({"results": results}))


def upgrades(host, port, ca, path, count, source):
    barrier = threading.Barrier(count, timeout=30)
    answered = threading.Barrier(count, timeout=60)
    statuses = [None] * count

    def attack(index):
        sock = None
        try:
            sock = connect(host, port, ca, source)
        except Exception as error:  # noqa: BLE001 - closed at accept (over the HTTP cap)
            statuses[index] = "closed " + repr(error)
        try:
            barrier.wait()
            if sock:
                sock.sendall(upgrade_request(host, port, path))
                statuses[index] = read_head(sock)
        except Exception as error:  # noqa: BLE001
            statuses[index] = "error " + repr(error)
        try:
            answered.wait()
        except threading.BrokenBarrierError:
            pass
        if sock:
            sock.close()

    threads = [threading.Thread(target=attack, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    print(json.dumps({
        "101": sum(1 for s in statuses if s and " 101 " in s),
        "429": sum(1 for s in statuses if s and " 429 " in s),
        "other": [s for s in statuses if not s or (" 101 " not in s and " 429 " not in s)],
    }))


def abort(host, port, ca, path, count):
    sent = 0
    for _ in range(count):
        sock = connect(host, port, ca)
        sock.sendall(upgrade_request(host, port, path))
        sock.close()
        sent += 1
    print(json.dumps({"sent": sent}))


def is_open(sock):
    sock.setblocking(False)
    try:
        data = sock.recv(1)
        return data != b""
    except ssl.SSLWantReadError:
        return True
    except BlockingIOError:
        return True
    except (ssl.SSLError, OSError):
        return False
    finally:
        sock.setblocking(True)


def slowhttp(host, port, ca, count, source, seconds, token=None):
    held = []
    lock = threading.Lock()
    stop = threading.Event()

    def hold():
        try:
            sock = connect(host, port, ca, source, timeout=5)
            head = f"POST /v1/sessions/s_x/end HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            if token:
                head += f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n"
            else:
                head += "X-Slow: "
            sock.sendall(head.encode())
            with lock:
                held.append(sock)
        except Exception:  # noqa: BLE001 - refused connections are the point
            pass

    threads = [threading.Thread(target=hold, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    def drip():
        while not stop.is_set():
            with lock:
                for sock in list(held):
                    try:
                        sock.sendall(b"a")
                    except Exception:  # noqa: BLE001
                        pass
            stop.wait(1)

    dripper = threading.Thread(target=drip)
    dripper.start()
    time.sleep(1)
    with lock:
        open_then = sum(1 for sock in held if is_open(sock))
    start = time.monotonic()
    try:
        sock = connect(host, port, ca, "127.0.0.1", timeout=5)
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        healthz = read_head(sock)
        sock.close()
    except Exception as error:  # noqa: BLE001
        healthz = "error " + repr(error)
    healthz_seconds = time.monotonic() - start
    time.sleep(seconds)
    with lock:
        open_later = sum(1 for sock in held if is_open(sock))
    stop.set()
    dripper.join()
    for sock in held:
        sock.close()
    print(json.dumps({
        "held": len(held), "openAfter1s": open_then, "healthz": healthz,
        "healthzSeconds": round(healthz_seconds, 3), "openLater": open_later,
    }))


def early401(host, port, ca):
    sock = connect(host, port, ca)
    sock.sendall(
        f"POST /v1/sessions/s_x/end HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: 1000\r\n\r\n{{\"outcome\":".encode()
    )
    status = read_head(sock)
    start = time.monotonic()
    sock.settimeout(5)
    closed = False
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                closed = True
                break
    except (socket.timeout, ssl.SSLError, OSError) as error:
        closed = not isinstance(error, socket.timeout)
    print(json.dumps({"status": status, "closed": closed, "seconds": round(time.monotonic() - start, 3)}))


if __name__ == "__main__":
    mode, host, port, ca = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    assert ipaddress.ip_address(host).is_loopback, "loopback only"
    rest = sys.argv[5:]
    if mode == "prehello":
        prehello(host, port, ca, rest[0], int(rest[1]), int(rest[2]))
    elif mode == "upgrades":
        upgrades(host, port, ca, rest[0], int(rest[1]), rest[2])
    elif mode == "abort":
        abort(host, port, ca, rest[0], int(rest[1]))
    elif mode == "slowhttp":
        slowhttp(host, port, ca, int(rest[0]), rest[1], float(rest[2]), rest[3] if len(rest) > 3 else None)
    elif mode == "early401":
        early401(host, port, ca)
    else:
        sys.exit(f"unknown mode {mode}")
