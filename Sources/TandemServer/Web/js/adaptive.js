// How much video to send: bitrate, picture size and frame rate of one stream, adapted to the
// path to the receiver. Smooth before sharp: on congestion the bitrate goes down first, the
// picture size follows the bitrate, and the frame rate drops only once both are at their
// floor; after a calm spell everything climbs back the other way round. No DOM, no clock of
// its own: callers pass `now` (ms), so the policy is easy to test and to reason about.

/** Camera: 720p at 15 fps, ~1 Mbit/s. Screen: up to 30 fps, ~1.5 Mbit/s. */
export const CAMERA = { maxBitrate: 1_000_000, maxWidth: 1280, maxFps: 15, minFps: 5 };
export const SCREEN = { maxBitrate: 1_500_000, maxWidth: 1280, maxFps: 30, minFps: 5 };
export const MIN_BITRATE = 150_000;
/** Picture sizes (longer side, px) and the bitrate from which each is worth sending. */
export const SIZES = [[1280, 600_000], [960, 350_000], [640, 200_000], [480, 0]];
const DOWN = 0.7;
const UP = 1.15;
// A size goes up again only with 25 % to spare, so a bitrate near a step does not flap.
const SIZE_HYSTERESIS = 1.25;
const FPS_DOWN = 0.7;
const FPS_UP = 1.4;
/** One step down per second at most: the broker asks every 500 ms while its queue drains. */
const SIGNAL_GAP_MS = 1000;
const CALM_MS = 5000;
const STEP_UP_MS = 2000;
/** More than this much of a second's bitrate waiting in the socket means the path is behind. */
const BUFFER_SECONDS = 0.5;
// ...but never less than one keyframe's worth, which may sit there for a moment on any link.
const MIN_BUFFER_BYTES = 16 * 1024;

export class AdaptivePolicy {
  /** `limits`: {maxBitrate, maxWidth, maxFps, minFps}, CAMERA or SCREEN. */
  constructor(limits = CAMERA) {
    this.limits = { ...limits };
    this.bitrateCap = limits.maxBitrate;
    this.fpsCap = limits.maxFps;
    this.bitrate = limits.maxBitrate;
    this.fps = limits.maxFps;
    this.width = this.sizeFor(this.bitrate, Infinity);
    this.lastSignal = -Infinity;
    this.lastDown = -Infinity;
    this.lastUp = -Infinity;
  }

  /** What to send now: {bitrate (bit/s), width (cap on the longer side, px), fps}. */
  get state() {
    return { bitrate: this.bitrate, width: this.width, fps: this.fps };
  }

  /** The size for `bitrate`; going up needs headroom over the step (from `current`). */
  sizeFor(bitrate, current) {
    for (const [width, floor] of SIZES) {
      if (width > this.limits.maxWidth) continue;
      const needed = width > current ? floor * SIZE_HYSTERESIS : floor;
      if (bitrate >= needed) return width;
    }
    return SIZES[SIZES.length - 1][0];
  }

  /** Frames were dropped on the way (a broker keyframe request, §5.9) or the socket is behind. */
  onDropSignal(now) {
    this.lastSignal = now;
    if (now - this.lastDown < SIGNAL_GAP_MS) return this.state;
    this.lastDown = now;
    if (this.bitrate > MIN_BITRATE) {
      this.bitrate = Math.max(MIN_BITRATE, Math.round(this.bitrate * DOWN));
      this.width = Math.min(this.width, this.sizeFor(this.bitrate, this.width));
    } else {
      // Bitrate and size are at their floor: only the frame rate is left.
      this.fps = Math.max(Math.min(this.limits.minFps, this.fps), Math.round(this.fps * FPS_DOWN));
    }
    return this.state;
  }

  /** `bytes` wait in the socket. Returns true when that is too much: skip this frame. */
  onBuffered(bytes, now) {
    if (bytes <= Math.max(MIN_BUFFER_BYTES, (this.bitrate / 8) * BUFFER_SECONDS)) return false;
    this.onDropSignal(now);
    return true;
  }

  /**
   * The receiver asks for less (stream.control quality, §5.9): `quality` (0–1] scales the
   * maximum bitrate, `fps` caps the frame rate. A lower cap applies at once; a higher one is
   * reached by climbing, as after congestion.
   */
  onQualityRequest(quality, fps, bitrate) {
    // The request replaces the earlier cap: `quality` × the maximum and/or `bitrate` (bit/s, §5.9).
    const caps = [];
    if (quality > 0 && quality <= 1) caps.push(this.limits.maxBitrate * quality);
    if (bitrate > 0) caps.push(bitrate);
    if (caps.length) this.bitrateCap = Math.max(MIN_BITRATE, Math.round(Math.min(this.limits.maxBitrate, ...caps)));
    if (fps > 0) this.fpsCap = Math.max(1, Math.min(this.limits.maxFps, fps));
    this.bitrate = Math.min(this.bitrate, this.bitrateCap);
    this.fps = Math.min(this.fps, this.fpsCap);
    this.width = Math.min(this.width, this.sizeFor(this.bitrate, this.width));
    // An explicit request is not congestion: climb to a raised cap without waiting.
    this.lastSignal = Math.min(this.lastSignal, -CALM_MS);
    return this.state;
  }

  /** Called about once a second: after CALM_MS without a signal, one step up every STEP_UP_MS. */
  onTick(now) {
    if (now - this.lastSignal < CALM_MS || now - this.lastUp < STEP_UP_MS) return this.state;
    if (this.fps < this.fpsCap) {
      this.lastUp = now;
      this.fps = Math.min(this.fpsCap, Math.max(this.fps + 1, Math.round(this.fps * FPS_UP)));
    } else if (this.bitrate < this.bitrateCap) {
      this.lastUp = now;
      this.bitrate = Math.min(this.bitrateCap, Math.round(this.bitrate * UP));
      this.width = this.sizeFor(this.bitrate, this.width);
    }
    return this.state;
  }
}
