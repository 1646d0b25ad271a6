"""The customer page's scene tracker (protocol/README.md §5.15) in headless Chromium, through
a real broker: the customer's fake camera plays the anchor clip (Tests/browser/anchor_clip.py:
640×360 at 15 fps, pan, rotation, zoom, shake, an occlusion) for `--seconds`, shared as the
pages share it (WebCodecs VP8 by default, `--video jpeg` for the JPEG path at its 5 fps
default), while the agent console receives it with an arrow stuck to the target port.

Reported: the tracker's per-frame time in its worker (mean, p95, max), frames tracked and
skipped, the video's frame rate and bit rate as sent, and the stuck arrow's error on the
agent's page (RMS and max in % of the frame width, outside the occlusion and the second
after it).

usage: python3 bench/tracker.py [path/to/tandem] [--seconds N] [--video vp8|jpeg]
"""
import argparse
import math
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "browser"))
import anchor_clip  # noqa: E402
import anchor_test as at  # noqa: E402
import browser_test as bt  # noqa: E402
from media import media_chromium  # noqa: E402
from media_test import console_session, join, number  # noqa: E402


def run(binary, seconds, video):
    bt.TANDEM = os.path.abspath(binary)
    work = tempfile.mkdtemp(prefix="tandem-bench-tracker-")
    clip = os.path.join(work, anchor_clip.clip_name(fps=at.FPS, width=at.WIDTH, height=at.HEIGHT))
    truth = anchor_clip.make_clip(clip, fps=at.FPS, seconds=14, width=at.WIDTH, height=at.HEIGHT, occlusion=at.OCCLUSION)
    agent = media_chromium(1280, 900)
    customer = media_chromium(900, 900, video=clip)
    try:
        with bt.broker_with_users(os.path.join(work, "data")) as broker:
            measure(agent, customer, broker, truth, seconds, video)
    finally:
        agent.quit()
        customer.quit()
        shutil.rmtree(work, ignore_errors=True)


def measure(agent, customer, broker, truth, seconds, video):
    """Opens the session, draws the stuck arrow, samples it for `seconds` and prints the figures."""
    base = broker.base
    agent.get(console_session(base, broker.client_env, broker.alice, "HD-BENCH-TRACK"))
    bt.wait(agent, lambda d: bt.state(d) == "waiting", what="the session")
    join(customer, base, agent.execute_script("return document.body.dataset.joinCode"), f"?video={video}" if video != "vp8" else "")
    bt.wait(agent, lambda d: number(d, "customer-view", "decoded") >= 10, what="frames at the agent")
    bt.wait(agent, lambda d: d.execute_script("return document.getElementById('customer-overlay').dataset.tracking") == "tracking",
            timeout=60, what="tracking")
    decode = anchor_clip.decode_index_function()
    targets = [entry["target"] for entry in truth]
    bt.wait(agent, lambda d: d.execute_script(at.DRAW % decode, targets), timeout=60, what="a frame to draw on")
    anchored = bt.wait(agent, lambda d: d.execute_script("""
        const shapes = document.getElementById('customer-overlay').drawn?.shapes ?? {};
        return Object.entries(shapes).find(([, placed]) => placed.anchored)?.[0] ?? null;"""), what="the stuck arrow")
    errors = []
    first, last = int(at.OCCLUSION[0] * at.FPS), int(at.OCCLUSION[1] * at.FPS) + at.FPS
    end = time.time() + seconds
    while time.time() < end:
        sample = agent.execute_script(at.SAMPLE % decode, "customer-view", "customer-overlay", False)
        placed = sample and sample["shapes"].get(anchored)
        if placed and not placed["lost"] and not first <= sample["index"] < last:
            errors.append(at.error(placed["points"][1], truth[sample["index"]]["target"]))
        time.sleep(0.05)
    stats = customer.execute_script("return document.getElementById('preview').trackerStats")
    sent = customer.execute_script("return {...document.getElementById('send-stats').dataset}")
    rms = math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else float("nan")
    print(f"video {video}, {seconds} s: tracker mean {stats['meanMs']:.1f} ms, p95 {stats['p95Ms']:.1f} ms, max {stats['maxMs']:.1f} ms "
          f"per frame; {stats['frames']} frames tracked, {stats['skipped']} skipped; sent {sent.get('fps')} fps, "
          f"{sent.get('kbps')} kbit/s {sent.get('codec')} {sent.get('width')}x{sent.get('height')}; "
          f"stuck arrow at the agent: RMS {rms * 100:.2f} %, max {max(errors) * 100:.2f} % of the width over {len(errors)} samples")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary", nargs="?", default=".build/debug/tandem")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--video", default="vp8", choices=["vp8", "jpeg"])
    arguments = parser.parse_args()
    run(arguments.binary, arguments.seconds, arguments.video)


if __name__ == "__main__":
    main()
