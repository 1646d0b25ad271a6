#!/usr/bin/env python3
"""A join-code guessing attack from many loopback addresses (protocol/README.md §3.1), for
the lock-out test: it never waits as told. WORKERS tasks each own a slice of the source
addresses 127.0.1.1, 127.0.1.2, … (never 127.0.0.x) and, in turn from each address, open a
WebSocket, send a customer hello with a wrong code, read until the broker closes, pause
50 ms. Writes STOP_FILE.ready once every address has tried once; stops when STOP_FILE
exists or after MAX_SECONDS. Prints a JSON summary: attempts, closes by code, errors,
seconds, addresses. Loopback only, bounded in time.

usage: join_flood.py WSS_URL CA_FILE ADDRESSES WORKERS MAX_SECONDS STOP_FILE
"""
import asyncio
import ipaddress
import urllib.parse
import json
import os
import ssl
import sys
import time

import websockets


def source_address(index):
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


async def attempt(url, context, source, code):
    async with websockets.connect(url, ssl=context, server_hostname="localhost", subprotocols=["tandem.v1"],
                                  compression=None, proxy=None, open_timeout=10, close_timeout=2,
                                  local_addr=(source, 0)) as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "role": "customer", "code": code, "client": "join-flood"}))
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass
    return ws.close_code


async def main(url, ca_file, addresses, workers, max_seconds, stop_file):
    context = ssl.create_default_context(cafile=ca_file)
    start = time.monotonic()
    closes = {}
    stats = {"attempts": 0, "errors": 0}
    tried = set()

    def over():
        return time.monotonic() - start > max_seconds or os.path.exists(stop_file)

    async def worker(number):
        mine = [index for index in range(addresses) if index % workers == number]
        turn = 0
        while not over():
            index = mine[turn % len(mine)]
            # Wrong codes only: 12 digits that no session of the test holds (the broker's are random).
            code = f"{(number * 7919 + turn * 104729) % 10**12:012d}"
            turn += 1
            try:
                close = await attempt(url, context, source_address(index), code)
                closes[str(close)] = closes.get(str(close), 0) + 1
            except Exception:  # noqa: BLE001 - a refused or reset connection counts as an error
                stats["errors"] += 1
            stats["attempts"] += 1
            tried.add(index)
            if len(tried) == addresses and not os.path.exists(stop_file + ".ready"):
                open(stop_file + ".ready", "w").close()
            await asyncio.sleep(0.05)

    await asyncio.gather(*(worker(number) for number in range(workers)))
    print(json.dumps({"attempts": stats["attempts"], "closes": closes, "errors": stats["errors"],
                      "seconds": round(time.monotonic() - start, 3), "addresses": addresses}))


if __name__ == "__main__":
    url, ca_file, addresses, workers, max_seconds, stop_file = sys.argv[1:7]
    assert ipaddress.ip_address(urllib.parse.urlsplit(url).hostname).is_loopback, "loopback only"
    asyncio.run(main(url, ca_file, int(addresses), int(workers), float(max_seconds), stop_file))
