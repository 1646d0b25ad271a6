"""Anchored annotations in real Chromium (protocol/README.md §5.15): the customer's fake
camera plays a generated clip (anchor_clip.py: an equipment board seen by a camera that
pans, rotates ±10°, zooms 0.8–1.25× and shakes, with a full-frame occlusion at 9–10 s,
the target port's true position known in every frame and the frame index in the chroma).

1. The agent draws two arrows whose tips are on the target port: one stuck to the object
   (the default on a camera), one fixed to the picture. For 10 s both pages' overlays are
   read (the drawn tip, and which clip frame is on the canvas under it): the stuck arrow's
   tip stays within RMS 2 % and max 5 % of the frame width of the port on both pages; the
   fixed one drifts by more than 20 %. A few samples also check the canvas pixels at the tip.
2. Occlusion: the stuck arrow is marked lost within 0.5 s of the cut and is back within
   1 s of the scene returning; the agent is offered "Re-anchor" while it is lost.
3. The tracker on the customer's page keeps up at 15 fps (its per-frame time is printed
   for bench/results.md), and the session's log counts anchors, losses and recoveries.

usage: python3 Tests/browser/anchor_test.py path/to/tandem
"""
import json
import math
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import anchor_clip  # noqa: E402
import browser_test as bt  # noqa: E402
from media import media_chromium  # noqa: E402
from media_test import console_session, join, number  # noqa: E402

check, wait, state, tandem = bt.check, bt.wait, bt.state, bt.tandem

FPS = 15
WIDTH, HEIGHT = 640, 360
OCCLUSION = (9.0, 10.0)
MEASURE_SECONDS = 12.0

# Draws the two arrows on the agent's overlay with synthetic pointer events, in one task so
# that the picture cannot change meanwhile: their tips on the port of the clip frame shown.
DRAW = """
const decode = (%s);
const [targets] = arguments;
const canvas = document.getElementById('customer-view');
const overlay = document.getElementById('customer-overlay');
const index = decode(canvas, null);
if (index < 0 || index >= 40 || overlay.dataset.tracking !== 'tracking') return null;
const [x, y] = targets[index];
const box = overlay.getBoundingClientRect();
const fire = (type, px, py) => overlay.dispatchEvent(new PointerEvent(type, {
  bubbles: true, pointerId: 1, isPrimary: true, pointerType: 'mouse', button: 0, buttons: type === 'pointerup' ? 0 : 1,
  clientX: box.left + px * box.width, clientY: box.top + py * box.height }));
const stick = document.getElementById('stick');
stick.checked = true;
fire('pointerdown', x - 0.12, y - 0.12); fire('pointerup', x, y);
stick.checked = false;
fire('pointerdown', x + 0.12, y - 0.12); fire('pointerup', x, y);
stick.checked = true;
return { index, sequence: canvas.dataset.sequence };
"""

# One sample of a page: the clip frame on the picture canvas and the arrows as drawn over
# it (only when the overlay was drawn for that same picture); with `pixels`, whether the
# overlay canvas is painted at the stuck arrow's tip.
SAMPLE = """
const decode = (%s);
const [viewId, overlayId, pixels] = arguments;
const canvas = document.getElementById(viewId);
const overlay = document.getElementById(overlayId);
const drawn = overlay.drawn;
if (!drawn || String(drawn.sequence) !== canvas.dataset.sequence) return null;
const index = decode(canvas, null);
if (index < 0) return null;
const shapes = {};
for (const [id, placed] of Object.entries(drawn.shapes)) shapes[id] = placed;
let painted = null;
const anchored = Object.values(shapes).find((placed) => placed.anchored);
if (pixels && anchored) {
  const [tx, ty] = anchored.points[1];
  const px = Math.round(tx * overlay.width), py = Math.round(ty * overlay.height);
  const data = overlay.getContext('2d').getImageData(Math.max(0, px - 3), Math.max(0, py - 3), 7, 7).data;
  painted = false;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted = true;
}
return { index, sequence: drawn.sequence, track: drawn.track, shapes, painted,
         reanchor: document.getElementById('reanchor') ? !document.getElementById('reanchor').hidden : null };
"""


def error(tip, target):
    """Distance between two normalised points in fractions of the frame width."""
    return math.hypot(tip[0] - target[0], (tip[1] - target[1]) * HEIGHT / WIDTH)


def measure(name, samples, truth, anchored_id, fixed_id):
    first, last = int(OCCLUSION[0] * FPS), int(OCCLUSION[1] * FPS)
    clean, fixed = [], []
    lost_late, found_late, lost_seen = [], [], False
    for sample in samples:
        index = sample["index"]
        stuck = sample["shapes"].get(anchored_id)
        if not stuck:
            continue
        if first <= index < last:
            lost_seen |= stuck["lost"]
            if index >= first + FPS // 2 and not stuck["lost"]:
                lost_late.append(index)
            continue
        # The second after the scene returns: recovering (and checked for that below).
        if last <= index < last + FPS:
            continue
        if stuck["lost"] and index >= last + FPS:
            found_late.append(index)
            continue
        clean.append(error(stuck["points"][1], truth[index]["target"]))
        if fixed_id in sample["shapes"]:
            fixed.append(error(sample["shapes"][fixed_id]["points"][1], truth[index]["target"]))
    back = [s["index"] for s in samples if s["index"] >= last and s["shapes"].get(anchored_id) and not s["shapes"][anchored_id]["lost"]]
    lost = [s["index"] for s in samples if first <= s["index"] < last and s["shapes"].get(anchored_id, {}).get("lost")]
    if lost and back:
        print(f"     {name}: lost from frame {min(lost)} ({(min(lost) - first) / FPS:.2f} s after the cut), "
              f"back by frame {min(back)} ({(min(back) - last) / FPS:.2f} s after the scene returned)")
    rms = math.sqrt(sum(e * e for e in clean) / len(clean)) if clean else float("inf")
    worst = max(clean) if clean else float("inf")
    drift = max(fixed) if fixed else 0.0
    print(f"     {name}: {len(clean)} clean samples over frames {min(s['index'] for s in samples)}-{max(s['index'] for s in samples)}; "
          f"stuck arrow RMS {rms * 100:.2f} %, max {worst * 100:.2f} % of the width; fixed arrow up to {drift * 100:.1f} %")
    check(f"{name}: the stuck arrow stays on the port (RMS {rms * 100:.2f} % ≤ 2 %, max {worst * 100:.2f} % ≤ 5 % of the width)",
          len(clean) >= 30 and rms <= 0.02 and worst <= 0.05, (len(clean), rms, worst))
    check(f"{name}: the arrow fixed to the picture drifts off the port by more than 20 % ({drift * 100:.1f} %)", drift > 0.20, drift)
    check(f"{name}: the stuck arrow is marked lost within 0.5 s of the cut", lost_seen and not lost_late, (lost_seen, lost_late))
    check(f"{name}: and is back on the port within 1 s of the scene returning", not found_late, found_late)


def anchored_session(base, client_env, alice, audrey, clip, truth):
    agent = media_chromium(1280, 900)
    customer = media_chromium(900, 900, video=clip)
    try:
        agent.get(console_session(base, client_env, alice, "HD-ANCHOR"))
        wait(agent, lambda d: state(d) == "waiting", what="the session on the console")
        session = agent.execute_script("return document.body.dataset.sessionId")
        join(customer, base, agent.execute_script("return document.body.dataset.joinCode"))
        wait(agent, lambda d: number(d, "customer-view", "decoded") >= 20, what="the customer's camera at the agent")
        wait(agent, lambda d: d.execute_script("return document.getElementById('customer-overlay').dataset.tracking") == "tracking",
             timeout=30, what="the customer's scene tracking at the agent")
        check("on a camera stream the console sticks new shapes to the object by default",
              agent.execute_script("return document.getElementById('stick').checked") is True)
        decode = anchor_clip.decode_index_function()
        targets = [entry["target"] for entry in truth]
        drawn_at = wait(agent, lambda d: d.execute_script(DRAW % decode, targets), timeout=40, what="a frame near the clip's start to draw on")
        print(f"     arrows drawn on clip frame {drawn_at['index']} (sequence {drawn_at['sequence']})")
        ids = wait(agent, lambda d: d.execute_script("""
            const shapes = document.getElementById('customer-overlay').drawn?.shapes ?? {};
            const entries = Object.entries(shapes).filter(([, placed]) => placed.points.length === 2);
            return entries.length >= 2 ? entries.map(([id, placed]) => [id, placed.anchored]) : null;"""), what="the two arrows")
        anchored_id = next(i for i, anchored in ids if anchored)
        fixed_id = next(i for i, anchored in ids if not anchored)
        wait(customer, lambda d: len(d.execute_script("return Object.keys(document.getElementById('preview-overlay').drawn?.shapes ?? {})")) >= 2,
             what="the arrows on the customer's preview")

        samples = {"agent": [], "customer": []}
        pages = {"agent": (agent, "customer-view", "customer-overlay"), "customer": (customer, "preview", "preview-overlay")}
        painted = []
        reanchor_offered = False
        end = time.time() + MEASURE_SECONDS
        round_ = 0
        while time.time() < end:
            for name, (driver, view_id, overlay_id) in pages.items():
                sample = driver.execute_script(SAMPLE % decode, view_id, overlay_id, round_ % 10 == 0)
                if sample:
                    samples[name].append(sample)
                    if sample["painted"] is not None:
                        painted.append(sample["painted"])
                    reanchor_offered |= bool(sample.get("reanchor")) and name == "agent"
            round_ += 1
            time.sleep(0.03)
        for name in ("agent", "customer"):
            check(f"{name}: samples cover the clip from the drawing through the occlusion and back",
                  samples[name] and max(s["index"] for s in samples[name]) >= int(OCCLUSION[1] * FPS) + FPS, len(samples[name]))
            measure(name, samples[name], truth, anchored_id, fixed_id)
        check("pixel check: the overlay canvas is painted at the stuck arrow's tip", len(painted) >= 3 and all(painted), painted)
        check("while the arrow is lost the agent is offered Re-anchor", reanchor_offered)

        stats = customer.execute_script("return document.getElementById('preview').trackerStats")
        sent = customer.execute_script("return {...document.getElementById('send-stats').dataset}")
        print(f"     tracker on the customer's page: {stats}; video sent: {sent}")
        check("the tracker keeps up with the camera (mean per-frame time under 66 ms, under 10 % of frames skipped)",
              stats and stats["meanMs"] < 66 and stats["skipped"] <= 0.1 * max(1, stats["frames"]), stats)
        check("tracking does not lower the video's frame rate (at least 12 fps sent from a 15 fps camera)",
              float(sent.get("fps", 0)) >= 12, sent.get("fps"))
        with open(os.path.join(bt.ARTIFACTS, "anchor-tracker.json"), "w") as f:
            json.dump({"tracker": stats, "sent": sent}, f)
        agent.save_screenshot(os.path.join(bt.ARTIFACTS, "anchor-agent.png"))
        customer.save_screenshot(os.path.join(bt.ARTIFACTS, "anchor-customer.png"))

        agent.execute_script("document.querySelector('#end-form button').click()")
        wait(customer, lambda d: state(d) == "ended", what="the end")
        record = json.loads(tandem("audit", "show", session, "--json", token=audrey, env_extra=client_env).stdout)
        ended = [e for e in record["events"] if e["kind"] == "session.ended"][-1]["detail"]
        check("the log counts the anchored arrow, and the loss and recovery of tracking",
              int(ended.get("anchors", 0)) >= 1 and int(ended.get("trackingLost", 0)) >= 1 and int(ended.get("trackingRecovered", 0)) >= 1,
              ended)
        text = tandem("audit", "show", session, token=audrey, env_extra=client_env).stdout
        check("the printed timeline shows the anchor counts", "anchors" in text and "trackingLost" in text, text[-600:])
        for name, driver in [("customer", customer), ("agent console", agent)]:
            violations = bt.csp_violations(driver)
            check(f"the {name} page tracks and draws anchored shapes without Content-Security-Policy violations", not violations, violations)
    finally:
        agent.quit()
        customer.quit()


def main():
    os.makedirs(bt.ARTIFACTS, exist_ok=True)
    work = tempfile.mkdtemp(prefix="tandem-anchor-")
    clip = os.path.join(work, anchor_clip.clip_name(fps=FPS, width=WIDTH, height=HEIGHT))
    started = time.time()
    truth = anchor_clip.make_clip(clip, fps=FPS, seconds=14, width=WIDTH, height=HEIGHT, occlusion=OCCLUSION)
    print(f"     clip: {len(truth)} frames in {time.time() - started:.1f} s")
    try:
        with bt.broker_with_users(os.path.join(work, "data")) as broker:
            anchored_session(broker.base, broker.client_env, broker.alice, broker.audrey, clip, truth)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"anchors: {bt.passed} passed, {bt.failed} failed (screenshots in {bt.ARTIFACTS})")
    sys.exit(1 if bt.failed else 0)


if __name__ == "__main__":
    main()
