"""A customer as a minimal client may be: opens the join link, then joins with a `hello` in
canonical JSON without the optional `client` field (so the code is among the first bytes of
the message), consents, sends a chat line and drops the connection without `session.end`.
Prints the `session.joined` message as JSON. Needs the PyPI `websockets` library.

usage: bare_customer.py JOIN_URL WSS_URL JOIN_CODE CA_FILE
"""
import asyncio
import json
import ssl
import sys
import urllib.request

import websockets


def canonical(message):
    return json.dumps(message, sort_keys=True, separators=(",", ":"))


async def main(join_url, url, code, ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(join_url, context=context, timeout=10) as page:
        assert page.status == 200, page.status
    async with websockets.connect(url, ssl=context, subprotocols=["tandem.v1"], open_timeout=30,
                                  server_hostname="localhost") as ws:
        await ws.send(canonical({"type": "hello", "protocol": 1, "role": "customer", "code": code}))
        joined = json.loads(await ws.recv())
        assert joined["type"] == "session.joined", joined
        await ws.send(canonical({"type": "consent", "granted": True, "source": "camera"}))
        await ws.send(canonical({"type": "chat", "text": "hello from a bare client"}))
        print(json.dumps(joined), flush=True)
        # Leaves (closing the connection) without session.end: the broker waits for a resume.


asyncio.run(main(*sys.argv[1:5]))
