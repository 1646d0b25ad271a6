#!/usr/bin/env python3
"""A foreign Tandem customer written only from protocol/README.md, with the PyPI
`websockets` library. Joins over wss, sends one media frame and a chat line, waits
for one frame and one chat line from the agent, leaves, and prints a JSON summary.

usage: customer.py WSS_URL JOIN_CODE CA_FILE
"""
import asyncio
import json
import ssl
import struct
import sys
import time

import websockets

HEADER = struct.Struct(">BBBBBBHIQI")  # protocol/README.md §4: 24 bytes, big-endian
CODECS = {1: "jpeg", 2: "png", 3: "webp", 4: "h264", 5: "vp8", 6: "vp9", 7: "av1", 8: "opus"}  # §4.1


def encode_frame(stream, sequence, payload, keyframe=True, codec=2):
    micros = int(time.time() * 1_000_000)
    return HEADER.pack(1, 24, 1, 1 if keyframe else 0, codec, 0, stream, sequence, micros, len(payload)) + payload


def decode_frame(message):
    version, header_length, kind, flags, codec, _, stream, sequence, micros, length = HEADER.unpack_from(message)
    assert version == 1 and kind == 1 and header_length >= 24, "bad header"
    payload = message[header_length:]
    assert len(payload) == length, "payload length mismatch"
    if codec not in CODECS:
        return None  # §4, §10: a codec this client does not know is skipped, not an error
    return {"stream": stream, "sequence": sequence, "codec": CODECS[codec], "keyframe": bool(flags & 1), "payload": payload}


async def main(url, code, ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    async with websockets.connect(url, ssl=context, subprotocols=["tandem.v1"], max_size=8 << 20, open_timeout=60,
                                  server_hostname="localhost") as ws:
        assert ws.subprotocol == "tandem.v1", ws.subprotocol
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "role": "customer", "code": code, "client": "python-websockets"}))
        joined = json.loads(await ws.recv())
        assert joined["type"] == "session.joined", joined
        await ws.send(json.dumps({"type": "consent", "granted": True, "source": "camera"}))
        payload = bytes(range(256)) * 40
        await ws.send(encode_frame(3, 17, payload))
        await ws.send(json.dumps({"type": "chat", "text": "hello from python"}))
        frame = chat = None
        while frame is None or chat is None:
            message = await ws.recv()
            if isinstance(message, bytes):
                frame = decode_frame(message)
            else:
                control = json.loads(message)
                if control["type"] == "chat":
                    chat = control
        await ws.send(json.dumps({"type": "session.end"}))
        ended = None
        try:
            while ended is None:
                control = json.loads(await ws.recv())
                if control["type"] == "session.ended":
                    ended = control
        except websockets.ConnectionClosed:
            pass
        await ws.wait_closed()
        print(json.dumps({
            "joined": joined,
            "frame": {k: v for k, v in frame.items() if k != "payload"} | {"size": len(frame["payload"]), "first": frame["payload"][0]},
            "chat": chat,
            "ended": ended,
            "closeCode": ws.close_code,
        }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
