#!/usr/bin/env python3
"""Routing under load (issue 18, protocol/README.md §20): customers arrive in the queue
(Poisson, from distinct loopback networks), simulated agents keep presence connections,
take every offer and hold each session for a handle time drawn from a log-normal
distribution, then end it. Reports the service level (answered within the target), the
average and p90 wait, the offer latency (entering the queue → first offer, from the log's
`queue.offered`) p50/p99, and the broker's CPU and memory.

usage: python3 bench/routing.py [.build/release/tandem] [--customers 500] [--seconds 60]
       [--agents 20] [--handle-mean 2.2] [--handle-sigma 0.5]
       [--database postgres://… [--brokers 2]] [--json]

Each broker is a separate `tandem serve` process on 127.0.0.1 (port 0, a temporary data
directory). With `--database` and `--brokers 2`, two brokers share one PostgreSQL
(protocol/README.md §20.7): customers and agents alternate between them, so half the
customers are taken by agents of the other broker (offered across brokers, claimed in the
database, redirected with 4421). The clients are Python `websockets` on the same two cores,
so their CPU is taken from the brokers' machine (reported too).
"""
import argparse
import asyncio
import json
import math
import os
import random
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

import websockets

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory(pid):
    values = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) // 1024
    return values


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


class Bench:
    def __init__(self, arguments):
        self.arguments = arguments
        self.directory = tempfile.mkdtemp(prefix="tandem-routing-")
        self.waits = []
        self.redirected = 0
        self.unanswered = 0
        self.sessions_done = 0
        self.errors = []

    def tandem(self, *args, token=None):
        environment = dict(os.environ, TANDEM_SERVER=f"https://127.0.0.1:{self.port}", TANDEM_CA=self.ca)
        if token:
            environment["TANDEM_TOKEN"] = token
        return subprocess.run([self.arguments.binary, *args], env=environment, capture_output=True, text=True, check=True).stdout

    def start(self):
        self.brokers, self.ports = [], []
        for index in range(self.arguments.brokers):
            self.start_broker(index)
        self.port = self.ports[0]
        data = os.path.join(self.directory, "data0")
        self.ca = os.path.join(data, "certs", "ca.pem")
        self.urls = [f"wss://127.0.0.1:{port}/v1/ws" for port in self.ports]
        self.context = ssl.create_default_context(cafile=self.ca)
        users = [self.arguments.binary, "users", "add"]
        database = ["--database", self.arguments.database] if self.arguments.database else []
        self.tokens = []
        for index in range(self.arguments.agents):
            out = subprocess.run(users + [f"agent{index:02d}", "--role", "agent", "--data-dir", data] + database,
                                 capture_output=True, text=True, check=True)
            self.tokens.append(out.stdout.strip().splitlines()[-1])
        out = subprocess.run(users + ["audrey", "--role", "auditor", "--data-dir", data] + database, capture_output=True, text=True, check=True)
        self.auditor = out.stdout.strip().splitlines()[-1]

    def start_broker(self, index):
        data = os.path.join(self.directory, f"data{index}")
        first = os.path.join(self.directory, "data0")
        extra = []
        if index > 0:
            # One deployment: the first broker's certificate and audit key.
            os.makedirs(data)
            for name in ("audit-signing.key", "audit-signing.pub.pem"):
                shutil.copy(os.path.join(first, name), os.path.join(data, name))
            extra = ["--cert", os.path.join(first, "certs", "server.pem"), "--key", os.path.join(first, "certs", "server.key.pem")]
        serve = [self.arguments.binary, "serve", "--port", "0", "--data-dir", data, "--broker-id", f"bench-{index}", "--max-queue-per-network", "5",
                 "--anonymous-audit-per-hour", "100000", "--websockets-per-network", "4096",
                 "--agent-websockets-per-network", "4096", "--http-connections-per-network", "512",
                 "--offer-timeout", "15", "--queue-target", "20", "--callback-after", "0", "--max-queue", "5000"]
        if self.arguments.database:
            serve += ["--database", self.arguments.database]
        log = open(os.path.join(self.directory, f"serve{index}.log"), "w")
        broker = subprocess.Popen(serve + extra, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            found = re.search(r"listening on https://[^ ]*:(\d+)", open(log.name).read())
            if found:
                self.ports.append(int(found.group(1)))
                break
            time.sleep(0.1)
        else:
            raise SystemExit("a broker did not start:\n" + open(log.name).read())
        self.brokers.append(broker)

    async def connect(self, hello, source="127.0.0.1", broker=0, url=None):
        ws = await websockets.connect(url or self.urls[broker], ssl=self.context, subprotocols=["tandem.v1"], server_hostname="localhost",
                                      open_timeout=60, local_addr=(source, 0), max_size=None)
        await ws.send(json.dumps(hello))
        return ws

    async def agent(self, token, rng, stop, broker):
        presence = await self.connect({"type": "hello", "protocol": 1, "role": "agent", "token": token, "client": "bench-routing",
                                       "presence": {"state": "available", "lines": ["line1"], "maxSessions": 1}}, broker=broker)
        sessions = set()
        try:
            while not stop.is_set():
                try:
                    message = json.loads(await asyncio.wait_for(presence.recv(), 1))
                except asyncio.TimeoutError:
                    continue
                if message["type"] == "queue.offer":
                    handle = rng.lognormvariate(math.log(self.arguments.handle_mean) - self.arguments.handle_sigma ** 2 / 2,
                                                self.arguments.handle_sigma)
                    task = asyncio.create_task(self.take(token, message["offerId"], handle, broker))
                    sessions.add(task)
                    task.add_done_callback(sessions.discard)
                elif message["type"] == "error":
                    self.errors.append(message)
        finally:
            for task in list(sessions):
                await task
            await presence.close()

    async def take(self, token, offer, handle, broker):
        hello = {"type": "hello", "protocol": 1, "role": "agent", "token": token, "client": "bench-routing", "take": {"offer": offer}}
        ws = await self.connect(hello, broker=broker)
        try:
            while True:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                except websockets.ConnectionClosed:
                    if getattr(self, "redirect", {}).get(offer):
                        # Another broker's customer (§20.7): the same hello there.
                        ws = await self.connect(hello, url=self.redirect.pop(offer).replace("https://", "wss://") + "/v1/ws")
                        self.redirected += 1
                        continue
                    raise
                if message["type"] == "session.assigned":
                    break
                if message["type"] == "error" and message.get("redirect"):
                    self.redirect = getattr(self, "redirect", {})
                    self.redirect[offer] = message["redirect"]
                elif message["type"] == "error":
                    self.errors.append(message)
                    return
            await asyncio.sleep(handle)
            await ws.send(json.dumps({"type": "session.end", "outcome": "resolved"}))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message["type"] == "session.ended":
                    self.sessions_done += 1
                    break
        except websockets.ConnectionClosed:
            pass
        finally:
            await ws.close()

    async def customer(self, index, source):
        started = time.monotonic()
        ws = await self.connect({"type": "hello", "protocol": 1, "role": "customer", "client": "bench-routing",
                                 "queue": {"ticket": f"HD-{index:05d}", "tier": "basic", "mode": "screen"}}, source,
                                broker=index % len(self.urls))
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 600))
                if message["type"] == "session.joined":
                    self.waits.append(time.monotonic() - started)
                elif message["type"] == "session.ended":
                    break
                elif message["type"] == "error":
                    self.errors.append(message)
        except (websockets.ConnectionClosed, asyncio.TimeoutError):
            self.unanswered += 1
        finally:
            await ws.close()

    async def run(self):
        rng = random.Random(18)
        stop = asyncio.Event()
        agents = [asyncio.create_task(self.agent(token, random.Random(index), stop, index % len(self.urls)))
                  for index, token in enumerate(self.tokens)]
        await asyncio.sleep(1)
        rate = self.arguments.customers / self.arguments.seconds
        cpu_before, wall_before = sum(cpu_seconds(b.pid) for b in self.brokers), time.monotonic()
        customers = []
        for index in range(self.arguments.customers):
            source = f"127.{1 + index // 60000}.{(index // 250) % 240 + 1}.{index % 250 + 1}"
            customers.append(asyncio.create_task(self.customer(index, source)))
            await asyncio.sleep(rng.expovariate(rate))
        await asyncio.gather(*customers)
        cpu_after, wall_after = sum(cpu_seconds(b.pid) for b in self.brokers), time.monotonic()
        stop.set()
        await asyncio.gather(*agents)
        self.cpu = (cpu_after - cpu_before) / (wall_after - wall_before)
        self.wall = wall_after - wall_before
        self.client_cpu = sum(os.times()[:2])

    def report(self):
        events = [json.loads(line) for line in self.tandem("audit", "export", "--format", "jsonl", "--what", "events", token=self.auditor).splitlines()]
        first_offer = {}
        for event in events:
            if event["kind"] == "queue.offered" and event["detail"]["queueId"] not in first_offer:
                first_offer[event["detail"]["queueId"]] = int(event["detail"]["waitedMs"])
        answered = [int(e["detail"]["waitedMs"]) / 1000 for e in events if e["kind"] == "queue.answered"]
        abandoned = sum(1 for e in events if e["kind"] == "queue.left")
        refused = [e["detail"]["reason"] for e in events if e["kind"] == "queue.offer-refused"]
        latencies = sorted(first_offer.values())
        within = sum(1 for wait in answered if wait <= 20)
        result = {
            "customers": self.arguments.customers, "seconds": self.arguments.seconds, "agents": self.arguments.agents,
            "handleMeanSeconds": self.arguments.handle_mean, "brokers": len(self.brokers),
            "store": "postgresql" if self.arguments.database else "sqlite", "takenAcrossBrokers": self.redirected,
            "answered": len(answered), "abandoned": abandoned, "unanswered": self.unanswered,
            "serviceLevel": within / max(1, len(answered) + abandoned),
            "averageWaitSeconds": statistics.mean(answered) if answered else None,
            "p90WaitSeconds": percentile(answered, 0.9),
            "customerSeenAverageWaitSeconds": statistics.mean(self.waits) if self.waits else None,
            "offerLatencyMs": {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "max": latencies[-1] if latencies else None},
            "offersMade": sum(1 for e in events if e["kind"] == "queue.offered"), "offersRefused": len(refused),
            "refusedBecause": {reason: refused.count(reason) for reason in sorted(set(refused))},
            "brokerCpuPercentOfOneCore": round(self.cpu * 100, 1), "brokerMemoryMiB": [memory(b.pid) for b in self.brokers],
            "clientCpuSeconds": round(self.client_cpu, 1), "wallSeconds": round(self.wall, 1), "errors": self.errors[:5],
        }
        return result

    def close(self):
        for broker in getattr(self, "brokers", []):
            broker.terminate()
        for broker in getattr(self, "brokers", []):
            try:
                broker.wait(20)
            except subprocess.TimeoutExpired:
                broker.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default=".build/release/tandem")
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--handle-mean", type=float, default=2.2, help="mean handle time in seconds (log-normal)")
    parser.add_argument("--handle-sigma", type=float, default=0.5)
    parser.add_argument("--database", help="postgres://… instead of SQLite")
    parser.add_argument("--brokers", type=int, default=1, help="brokers sharing --database (PostgreSQL only)")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    if arguments.brokers > 1 and not arguments.database:
        parser.error("--brokers needs --database postgres://…")
    bench = Bench(arguments)
    try:
        bench.start()
        asyncio.run(bench.run())
        result = bench.report()
    finally:
        bench.close()
    if arguments.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['customers']} customers over {result['seconds']:.0f} s, {result['agents']} agents, "
          f"handle time log-normal mean {result['handleMeanSeconds']} s, {result['brokers']} broker(s) on {result['store']}")
    print(f"service level (answered within 20 s): {result['serviceLevel'] * 100:.1f} %  "
          f"({result['answered']} answered, {result['abandoned']} abandoned, {result['unanswered']} never answered)")
    print(f"wait: average {result['averageWaitSeconds']:.2f} s, p90 {result['p90WaitSeconds']:.2f} s")
    latency = result["offerLatencyMs"]
    print(f"offer latency (enter → first offer): p50 {latency['p50']} ms, p99 {latency['p99']} ms, max {latency['max']} ms")
    print(f"offers: {result['offersMade']} made, {result['offersRefused']} refused {result['refusedBecause']}; "
          f"{result['takenAcrossBrokers']} taken across brokers")
    print(f"brokers: {result['brokerCpuPercentOfOneCore']} % of one core together, memory {result['brokerMemoryMiB']} MiB; "
          f"clients {result['clientCpuSeconds']} s CPU over {result['wallSeconds']} s")
    if result["errors"]:
        print("errors:", result["errors"])


if __name__ == "__main__":
    sys.exit(main())
