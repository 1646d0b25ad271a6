"""Opens a connection to the broker and sends nothing: over plain TCP (no TLS handshake), or
after the TLS handshake (no HTTP request). Prints "closed after N.N s" when the broker
closes it, or "still open" after 10 s. Standard library only.

usage: silent_connection.py HOST PORT tcp|tls CA_FILE
"""
import socket
import ssl
import sys
import time

host, port, mode, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
connected = time.monotonic()
sock = socket.create_connection((host, port))
if mode == "tls":
    try:
        sock = ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname="localhost")
    except (ssl.SSLError, OSError) as error:
        # Not what is tested: the handshake itself outlasted the broker's deadline.
        print(f"closed during the TLS handshake, {time.monotonic() - connected:.1f} s after connecting ({type(error).__name__})")
        sys.exit(0)
sock.settimeout(10)
start = time.monotonic()
try:
    data = sock.recv(1)
    print(f"closed after {time.monotonic() - start:.1f} s" if data == b"" else f"unexpected data {data!r}")
except (ssl.SSLError, ConnectionResetError) as error:
    print(f"closed after {time.monotonic() - start:.1f} s ({type(error).__name__})")
except socket.timeout:
    print("still open")
