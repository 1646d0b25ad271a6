// The scene tracker's worker (a module worker started by scene-tracker.js): runs tracker-math.js's
// TrackerEngine on the frames the page sends, one at a time, and answers each with its result.
//
// Messages in:  { type: "frame", sequence, width, height, buffer (RGBA bytes of width x height,
//                 transferred), time (ms, the page's clock at capture), reset (start a new epoch
//                 with this frame) }
// Messages out: { type: "result", result: { sequence, epoch, state, m, inliers, ms } }, one per
//               frame, in order. `m` is the world -> frame affine map in picture-normalised
//               coordinates (tracker-math.js toNormalised); `ms` the time this frame took here.
//
// An exception while tracking a frame is logged once; the frame is reported "lost" with the last
// good map, and tracking starts over in a new epoch with the next frame (the engine's state may be
// inconsistent after a failure).
import { TrackerEngine, identity, toNormalised } from "./tracker-math.js";

let engine = new TrackerEngine();
let lastMap = identity();
let logged = false;

self.onmessage = (event) => {
  const message = event.data;
  if (!message || message.type !== "frame") return;
  const start = performance.now();
  let result;
  try {
    if (message.reset) engine.reset();
    const rgba = new Uint8ClampedArray(message.buffer);
    const r = engine.process(rgba, message.width, message.height, message.time);
    lastMap = toNormalised(r.t, r.w, r.h);
    result = { sequence: message.sequence, epoch: r.epoch, state: r.state, m: lastMap, inliers: r.inliers };
  } catch (error) {
    if (!logged) console.error("scene tracker: tracking failed; starting over", error);
    logged = true;
    const epoch = engine.epoch;
    engine = new TrackerEngine();
    engine.epoch = epoch + 1;
    result = { sequence: message.sequence, epoch, state: "lost", m: lastMap, inliers: 0 };
  }
  result.ms = performance.now() - start;
  self.postMessage({ type: "result", result });
};
