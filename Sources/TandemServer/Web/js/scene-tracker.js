// Scene tracking for annotations anchored to the scene (issue 17), the page's side: captures
// frames of the published picture at the tracking resolution and hands them to tracker-worker.js
// (the algorithm and its parameters are described in tracker-math.js).
//
//   const tracker = new SceneTracker({ width: 640, height: 360, onResult });
//   tracker.push(sequence, source, sourceWidth, sourceHeight);  // for each captured frame
//   onResult({ sequence, epoch, state: "tracking" | "lost", m: [a, b, c, d, e, f], inliers, ms })
//
// `m` maps WORLD coordinates to THIS frame's, both picture-normalised ((0,0) top-left corner,
// (1,1) bottom-right): x' = a x + b y + c, y' = d x + e y + f. The world of an epoch is its first
// tracked frame (m = identity there). A similarity in pixels is a general affine map in
// normalised coordinates when the picture is not square. When "lost", m is the last good map.
// `epoch` starts at 1 and grows on reset(), when the tracker gives up after a long loss (10 s),
// and when the picture's aspect ratio changes (a world cannot be carried across that).
// Until a textured frame has been seen in an epoch (e.g. the lens covered from the start), frames
// are "lost" with the identity.
//
// push() draws the source into an OffscreenCanvas of the picture's size scaled to fit inside
// width x height (aspect kept; scaled up or down, so a change of the source's resolution keeps
// the world), reads its pixels and transfers them to the worker: a few ms on the main thread.
// While the worker is busy, only the newest frame waits (an older waiting one is dropped and
// counted in stats().skipped). Results come in push order, one per frame tracked.
//
// If the worker cannot start or fails, the failure is logged once and every frame is reported
// "lost" with the last good map.

const RECENT = 1024; // frames kept for stats().p95Ms

export class SceneTracker {
  constructor({ width = 640, height = 360, onResult } = {}) {
    this.width = Math.max(16, Math.round(width));
    this.height = Math.max(16, Math.round(height));
    this.onResult = onResult ?? (() => {});
    this.canvas = null;
    this.context = null;
    this.busy = null; // the frame the worker is tracking: { sequence, reset }
    this.waiting = null; // the newest frame not yet sent
    this.resetNext = false;
    this.closed = false;
    this.failed = false;
    this.lastMap = [1, 0, 0, 0, 1, 0];
    this.lastEpoch = 1;
    this.frames = 0;
    this.skipped = 0;
    this.totalMs = 0;
    this.maxMs = 0;
    this.recent = new Float64Array(RECENT);
    try {
      this.worker = new Worker(new URL("./tracker-worker.js", import.meta.url), { type: "module" });
      this.worker.onmessage = (event) => this.received(event.data);
      this.worker.onerror = (event) => {
        event.preventDefault?.();
        this.fail(event.message || "worker error");
      };
      this.worker.onmessageerror = () => this.fail("unreadable message from the worker");
    } catch (error) {
      this.worker = null;
      this.fail(error);
    }
  }

  /**
   * A captured picture of the published stream and its frame sequence number. `source`: any
   * CanvasImageSource of sourceWidth x sourceHeight.
   */
  push(sequence, source, sourceWidth, sourceHeight) {
    if (this.closed || !(sourceWidth > 0) || !(sourceHeight > 0)) return;
    if (this.failed) {
      this.reportLost(sequence, this.resetNext);
      this.resetNext = false;
      return;
    }
    const scale = Math.min(this.width / sourceWidth, this.height / sourceHeight);
    const w = Math.max(1, Math.min(this.width, Math.round(sourceWidth * scale)));
    const h = Math.max(1, Math.min(this.height, Math.round(sourceHeight * scale)));
    let pixels;
    try {
      const context = this.contextFor(w, h);
      context.drawImage(source, 0, 0, w, h);
      pixels = context.getImageData(0, 0, w, h).data;
    } catch {
      return; // no picture yet (a video without data, a closed frame): nothing to track
    }
    const frame = {
      type: "frame", sequence: sequence >>> 0, width: w, height: h, buffer: pixels.buffer,
      time: performance.now(), reset: this.resetNext,
    };
    this.resetNext = false;
    if (!this.busy) {
      this.send(frame);
    } else {
      if (this.waiting) {
        this.skipped++;
        frame.reset ||= this.waiting.reset;
      }
      this.waiting = frame;
    }
  }

  /** A new world: the next frame pushed becomes the reference of a new epoch. */
  reset() {
    this.resetNext = true;
  }

  close() {
    this.closed = true;
    this.waiting = null;
    this.busy = null;
    this.worker?.terminate();
    this.worker = null;
  }

  /** The worker's per-frame tracking time: all frames for mean and max, the last 1024 for p95. */
  stats() {
    const n = Math.min(this.frames, RECENT);
    const recent = Array.from(this.recent.subarray(0, n)).sort((a, b) => a - b);
    return {
      frames: this.frames,
      skipped: this.skipped,
      meanMs: this.frames ? this.totalMs / this.frames : 0,
      p95Ms: n ? recent[Math.min(n - 1, Math.floor(n * 0.95))] : 0,
      maxMs: this.maxMs,
    };
  }

  contextFor(w, h) {
    if (!this.canvas || this.canvas.width !== w || this.canvas.height !== h) {
      if (typeof OffscreenCanvas === "function") {
        this.canvas = new OffscreenCanvas(w, h);
      } else {
        this.canvas = document.createElement("canvas");
        this.canvas.width = w;
        this.canvas.height = h;
      }
      this.context = this.canvas.getContext("2d", { willReadFrequently: true, alpha: false });
    }
    return this.context;
  }

  send(frame) {
    this.busy = { sequence: frame.sequence, reset: frame.reset };
    try {
      this.worker.postMessage(frame, [frame.buffer]);
    } catch (error) {
      this.busy = null;
      this.fail(error);
      this.reportLost(frame.sequence, frame.reset);
    }
  }

  received(message) {
    if (this.closed || !message || message.type !== "result") return;
    const result = message.result;
    this.busy = null;
    if (this.waiting) {
      // Keep the worker busy first, then tell the page.
      const next = this.waiting;
      this.waiting = null;
      this.send(next);
    }
    const ms = result.ms;
    this.recent[this.frames % RECENT] = ms;
    this.frames++;
    this.totalMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    this.lastEpoch = result.epoch;
    this.lastMap = result.m;
    this.deliver(result);
  }

  fail(reason) {
    if (this.failed) return;
    this.failed = true;
    console.warn("scene tracker: the tracking worker failed; frames are reported lost", reason);
    this.worker?.terminate();
    this.worker = null;
    const pending = [this.busy, this.waiting].filter(Boolean);
    this.busy = null;
    this.waiting = null;
    for (const frame of pending) this.reportLost(frame.sequence, frame.reset);
  }

  reportLost(sequence, reset) {
    if (reset) this.lastEpoch++;
    const result = { sequence: sequence >>> 0, epoch: this.lastEpoch, state: "lost", m: this.lastMap.slice(), inliers: 0, ms: 0 };
    queueMicrotask(() => {
      if (!this.closed) this.deliver(result);
    });
  }

  deliver(result) {
    try {
      this.onResult(result);
    } catch (error) {
      console.error("scene tracker: onResult failed", error);
    }
  }
}
