"""A customer that joins and then goes silent without closing: it never reads, so it never
answers the broker's WebSocket pings (a half-open connection, as after a network change).
Written with the standard library only: TLS socket, HTTP upgrade, one masked text frame.

usage: silent_customer.py HOST PORT JOIN_CODE CA_FILE SECONDS
"""
import base64
import json
import os
import socket
import ssl
import sys
import time

host, port, code, ca, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
context = ssl.create_default_context(cafile=ca)
raw = socket.create_connection((host, port))
tls = context.wrap_socket(raw, server_hostname="localhost")
key = base64.b64encode(os.urandom(16)).decode()
tls.sendall((
    f"GET /v1/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: tandem.v1\r\n\r\n"
).encode())
response = b""
while b"\r\n\r\n" not in response:
    response += tls.recv(1)
assert b" 101 " in response.split(b"\r\n")[0], response
payload = json.dumps({"type": "hello", "protocol": 1, "role": "customer", "code": code, "client": "silent-python"}).encode()
mask = os.urandom(4)
header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else bytes([0x81, 0xFE]) + len(payload).to_bytes(2, "big")
tls.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
print("joined, now silent", flush=True)
time.sleep(seconds)
