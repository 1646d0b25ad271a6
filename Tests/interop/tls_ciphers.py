"""Tries a TLS handshake with the broker for each cipher suite named on the command line,
offering that one suite alone, and prints one line per attempt: `SUITE ok NEGOTIATED VERSION` or
`SUITE refused REASON`. `TLSv1.3` as a suite name tries a TLS 1.3 handshake instead.
Standard library only (OpenSSL through Python's ssl module).

usage: tls_ciphers.py HOST PORT CA_FILE SUITE...
"""
import ipaddress
import socket
import ssl
import sys

host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
assert ipaddress.ip_address(host).is_loopback, "loopback only"
for suite in sys.argv[4:]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=ca)
    try:
        if suite == "TLSv1.3":
            context.minimum_version = ssl.TLSVersion.TLSv1_3
        else:
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            # Security level 0: this client must be able to offer old suites, to show that
            # the broker refuses them.
            context.set_ciphers(suite + ":@SECLEVEL=0")
    except ssl.SSLError as error:
        print(f"{suite} unavailable {error}", flush=True)
        continue
    try:
        with socket.create_connection((host, port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                print(f"{suite} ok {tls.cipher()[0]} {tls.version()}", flush=True)
    except (ssl.SSLError, OSError) as error:
        reason = getattr(error, "reason", None) or type(error).__name__
        # Only the broker's handshake-failure alert (no shared suite) counts as a refusal;
        # anything else (certificate, connection) is this client's problem, not a verdict.
        verdict = "refused" if "HANDSHAKE_FAILURE" in str(reason).upper() else "error"
        print(f"{suite} {verdict} {reason}", flush=True)
