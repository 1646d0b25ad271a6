"""Asks for a WebSocket upgrade as a web page would (with an Origin) and prints the HTTP
status line the broker answers. Standard library only.

usage: upgrade_status.py HOST PORT PATH ORIGIN CA_FILE
"""
import base64
import os
import socket
import ssl
import sys

host, port, path, origin, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
context = ssl.create_default_context(cafile=ca)
tls = context.wrap_socket(socket.create_connection((host, port)), server_hostname="localhost")
key = base64.b64encode(os.urandom(16)).decode()
tls.sendall((
    f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
).encode())
response = b""
while b"\r\n" not in response:
    chunk = tls.recv(1)
    if not chunk:
        break
    response += chunk
print(response.split(b"\r\n")[0].decode())
