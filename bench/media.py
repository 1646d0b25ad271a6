"""Video and voice in headless Chromium, through a real broker (issue 15's benchmarks).

The customer page shares the same 720p clip (Tests/browser/media.py: testsrc2 with noise,
Y4M at 30 fps) with each codec forced by ?video=, at 15 and 30 fps (?fps=), and the agent
console receives it. For each case, after a warm-up, over the measured window:
  - bit rate and delivered frame rate at the agent (its #stats, sampled every second);
  - glass-to-glass latency: capture time (the frame's timestamp, taken when the customer's
    page grabbed the picture) to the picture drawn on the agent's canvas, p50 and p99 over
    every frame (the canvas's latency samples);
  - the broker's CPU (utime + stime of its process) as % of one core.
Then voice: the customer's 440 Hz microphone to the agent, mouth-to-ear (capture time of
each Opus packet to its scheduled playback at the agent), with the agent's link held to a
ceiling below the video's bit rate (a proxy), so the video queue toward the agent stays
full while the audio has its own lane: gaps (silence inserted) and late packets are counted.

usage: python3 bench/media.py [path/to/tandem] [--seconds N] [--cases vp8@15,jpeg@5,...]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "browser"))
from media import make_media, media_chromium  # noqa: E402
from proxy import Proxy  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait(driver, condition, timeout=60):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d))


def dataset(driver, element_id):
    return driver.execute_script(f"return {{...(document.getElementById('{element_id}')?.dataset ?? {{}})}}")


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Broker:
    def __init__(self, tandem, work):
        self.tandem = tandem
        self.data = os.path.join(work, "data")
        self.process = subprocess.Popen([tandem, "serve", "--port", "0", "--data-dir", self.data], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        for line in self.process.stdout:
            match = re.search(r"listening on https://127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                break
        self.base = f"https://127.0.0.1:{self.port}"
        self.env = dict(os.environ, TANDEM_SERVER=self.base, TANDEM_CA=os.path.join(self.data, "certs", "ca.pem"))
        added = subprocess.run([tandem, "users", "add", "alice", "--role", "agent", "--data-dir", self.data], capture_output=True, text=True)
        self.env["TANDEM_TOKEN"] = added.stdout.strip().splitlines()[-1]

    def console(self, ticket, port=None):
        out = subprocess.run([self.tandem, "session", "start", "--console", "--ticket", ticket, "--mode", "camera"], capture_output=True,
                             text=True, env=self.env).stdout
        url = [line for line in out.splitlines() if line.startswith("https://")][0]
        return re.sub(r"https://127\.0\.0\.1:\d+", f"https://127.0.0.1:{port}", url) if port else url

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def pair(broker, clip, tones, ticket, query, agent_port=None):
    agent = media_chromium(1280, 900, audio=tones[660])
    customer = media_chromium(1280, 900, video=clip, audio=tones[440])
    agent.get(broker.console(ticket, agent_port))
    wait(agent, lambda d: d.execute_script("return document.body.dataset.state") == "waiting")
    code = agent.execute_script("return document.body.dataset.joinCode")
    customer.get(f"{broker.base}/j/{code}{query}")
    wait(customer, lambda d: d.execute_script("return document.body.dataset.state") == "consent")
    customer.find_element(By.ID, "allow").click()
    wait(agent, lambda d: float(dataset(d, "customer-view").get("decoded", 0)) >= 10)
    return agent, customer


def video_case(broker, clip, tones, codec, fps, warmup, seconds):
    query = f"?video={codec}" + (f"&fps={fps}" if codec != "jpeg" else "")
    agent, customer = pair(broker, clip, tones, f"BENCH-{codec}-{fps}", query)
    try:
        time.sleep(warmup)
        agent.execute_script("document.getElementById('customer-view').latencySamples = []")
        cpu0, t0 = cpu_seconds(broker.process.pid), time.time()
        kbps, shown = [], []
        for _ in range(seconds):
            time.sleep(1)
            stats = dataset(agent, "stats")
            kbps.append(float(stats.get("kbps", 0)))
            shown.append(float(stats.get("fps", 0)))
        cpu = (cpu_seconds(broker.process.pid) - cpu0) / (time.time() - t0) * 100
        latencies = agent.execute_script("return document.getElementById('customer-view').latencySamples") or []
        sent = dataset(customer, "send-stats")
        size = f"{dataset(agent, 'stats').get('width')}x{dataset(agent, 'stats').get('height')}"
        return {
            "case": f"{codec} @ {fps} fps", "codec": dataset(agent, "customer-view").get("codec"), "size": size,
            "kbps": statistics.mean(kbps), "fps": statistics.mean(shown), "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "frames": len(latencies), "cpu": cpu, "target": sent.get("bitrate", "-"),
        }
    finally:
        agent.quit()
        customer.quit()


def voice_case(broker, clip, tones, warmup, seconds, ceiling_bps):
    proxy = Proxy(broker.port, downstream_bps=ceiling_bps, buffer=8192) if ceiling_bps else None
    agent, customer = pair(broker, clip, tones, f"BENCH-VOICE-{ceiling_bps or 0}", "?video=vp8", proxy.port if proxy else None)
    try:
        agent.find_element(By.ID, "voice-start").click()
        wait(customer, lambda d: d.execute_script("return document.getElementById('voice').dataset.voice") == "asking")
        customer.find_element(By.ID, "voice-allow").click()
        wait(agent, lambda d: float(dataset(d, "voice-stats").get("packets", 0)) >= 50)
        time.sleep(warmup)
        start = dataset(agent, "voice-stats")
        latencies, video_kbps = [], []
        for _ in range(seconds):
            time.sleep(1)
            stats = dataset(agent, "voice-stats")
            if stats.get("latencyMs"):
                latencies.append(float(stats["latencyMs"]))
            video_kbps.append(float(dataset(agent, "stats").get("kbps", 0)))
        end = dataset(agent, "voice-stats")
        delta = {key: float(end.get(key, 0)) - float(start.get(key, 0)) for key in ("packets", "lost", "late", "silenceMs")}
        return {
            "case": f"voice, agent link {'unlimited' if not ceiling_bps else f'{ceiling_bps / 1000:.0f} kbit/s'}",
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "video_kbps": statistics.mean(video_kbps),
            "peak": end.get("peakHz"), **delta,
        }
    finally:
        agent.quit()
        customer.quit()
        if proxy:
            proxy.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tandem", nargs="?", default=".build/release/tandem")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=6)
    parser.add_argument("--cases", default="jpeg@5,vp8@15,vp8@30,h264@15,h264@30,vp9@15,vp9@30,av1@15,av1@30")
    parser.add_argument("--voice", default="0,600000", help="agent link ceilings (bit/s) for the voice runs; 0 = none")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="tandem-media-bench-")
    clip, tones = make_media(os.path.join(work, "media"), fps=30)
    broker = Broker(os.path.abspath(args.tandem), work)
    try:
        print(f"{'case':<16} {'codec':<5} {'size':<9} {'kbit/s':>7} {'fps':>5} {'g2g p50':>8} {'p99':>6} {'frames':>6} {'broker CPU':>10} {'target':>8}")
        for case in filter(None, args.cases.split(",")):
            codec, fps = case.split("@")
            r = video_case(broker, clip, tones, codec, int(fps), args.warmup, args.seconds)
            print(f"{r['case']:<16} {r['codec']:<5} {r['size']:<9} {r['kbps']:7.0f} {r['fps']:5.1f} {r['p50']:6.0f}ms {r['p99']:4.0f}ms "
                  f"{r['frames']:6d} {r['cpu']:9.1f}% {r['target']:>8}", flush=True)
        for ceiling in (int(value) for value in args.voice.split(",")):
            r = voice_case(broker, clip, tones, args.warmup, args.seconds, ceiling)
            print(f"{r['case']}: mouth-to-ear p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms (per-second medians); "
                  f"{r['packets']:.0f} packets, {r['lost']:.0f} lost, {r['late']:.0f} late, {r['silenceMs']:.0f} ms of silence inserted; "
                  f"video beside it {r['video_kbps']:.0f} kbit/s; heard {r['peak']} Hz", flush=True)
    finally:
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
