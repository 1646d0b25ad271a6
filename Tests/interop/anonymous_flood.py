#!/usr/bin/env python3
"""Anonymous clients that try to fill the queue or flood the audit log (protocol/README.md
§13.1, §16), from chosen loopback source addresses (127.0.0.0/8), so that each looks like
another network. Bounded in time and count. Prints a JSON summary.

usage:
  anonymous_flood.py fill HOST PORT CA SOURCES PER_SOURCE REAL_SOURCE
      from each source (comma-separated) open PER_SOURCE queue entries one after the other and
      keep them open; then one from REAL_SOURCE. {"sources": {ip: [outcome]}, "real": outcome}
  anonymous_flood.py resume HOST PORT CA SOURCES SECONDS
      resume with random tokens, round-robin over the sources, for SECONDS (at most 400 tries)
  anonymous_flood.py churn HOST PORT CA SOURCES SECONDS
      enter the queue and leave at once, again and again, for SECONDS (at most 400 tries)

An outcome is {"queued": tier} or {"close": code, "error": identifier, "retryAfter": n}.
"""
import asyncio
import base64
import ipaddress
import json
import os
import ssl
import sys
import time

import websockets


def hello_queue(ticket, tier="premium"):
    return {"type": "hello", "protocol": 1, "role": "customer", "client": "python-flood",
            "queue": {"ticket": ticket, "tier": tier, "mode": "screen"}}


def hello_resume():
    token = "tdr_" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    return {"type": "hello", "protocol": 1, "role": "customer", "client": "python-flood", "resume": token}


async def attempt(url, context, source, hello, leave=True):
    """Sends `hello` from `source`. Returns (outcome, open connection or None)."""
    ws = await websockets.connect(url, ssl=context, subprotocols=["tandem.v1"], server_hostname="localhost",
                                  open_timeout=30, local_addr=(source, 0))
    await ws.send(json.dumps(hello))
    outcome = {}
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if message["type"] == "error":
                outcome["error"] = message.get("code")
                if "retryAfter" in message:
                    outcome["retryAfter"] = message["retryAfter"]
            elif message["type"] == "queue.status" and "queued" not in outcome:
                outcome["queued"] = message["tier"]
                if not leave:
                    return outcome, ws
                await ws.send(json.dumps({"type": "session.end"}))
    except websockets.ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        outcome["timeout"] = True
        await ws.close()
    outcome["close"] = ws.close_code
    return outcome, None


async def fill(url, context, sources, per_source, real_source):
    kept = []
    result = {"sources": {}, "real": None}
    for source in sources:
        outcomes = []
        for index in range(per_source):
            outcome, ws = await attempt(url, context, source, hello_queue(f"HD-FILL-{source}-{index}"), leave=False)
            outcomes.append(outcome)
            if ws is not None:
                kept.append(ws)
        result["sources"][source] = outcomes
    outcome, ws = await attempt(url, context, real_source, hello_queue("HD-REAL", tier="basic"), leave=False)
    result["real"] = outcome
    if ws is not None:
        kept.append(ws)
    for ws in kept:
        await ws.close()
    return result


async def flood(url, context, sources, seconds, make_hello):
    deadline = time.monotonic() + seconds
    summary = {"attempts": 0, "closes": {}, "errors": {}, "queued": 0, "retryAfter": 0}
    while time.monotonic() < deadline and summary["attempts"] < 400:
        source = sources[summary["attempts"] % len(sources)]
        outcome, _ = await attempt(url, context, source, make_hello(summary["attempts"]))
        summary["attempts"] += 1
        code = str(outcome.get("close"))
        summary["closes"][code] = summary["closes"].get(code, 0) + 1
        if "error" in outcome:
            summary["errors"][outcome["error"]] = summary["errors"].get(outcome["error"], 0) + 1
        if "queued" in outcome:
            summary["queued"] += 1
        summary["retryAfter"] = max(summary["retryAfter"], outcome.get("retryAfter", 0))
    return summary


async def main():
    mode, host, port, ca_file, sources = sys.argv[1:6]
    assert ipaddress.ip_address(host).is_loopback, "loopback only"
    sources = sources.split(",")
    url = f"wss://{host}:{port}/v1/ws"
    context = ssl.create_default_context(cafile=ca_file)
    if mode == "fill":
        result = await fill(url, context, sources, int(sys.argv[6]), sys.argv[7])
    elif mode == "resume":
        result = await flood(url, context, sources, float(sys.argv[6]), lambda _: hello_resume())
    elif mode == "churn":
        result = await flood(url, context, sources, float(sys.argv[6]), lambda index: hello_queue(f"HD-CHURN-{index}"))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(result))


asyncio.run(main())
