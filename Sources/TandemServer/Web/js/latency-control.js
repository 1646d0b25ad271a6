// The receiver's half of rate control (protocol/README.md §5.9, `quality` requests with
// `bitrate`): when the pictures it draws fall behind their capture by more than a moment (more
// than the lowest lag of the last minute: clocks and the path's own delay do not count),
// second after second, the path is queueing — the publisher sends more than reaches this
// page, though nothing was dropped yet — so it asks for a bit-rate ceiling a little under what
// it measured arriving. Once pictures are prompt again for a while it raises the ceiling step
// by step, and lifts it altogether when it gets well above what was asked. Used in the
// quality menu's "auto"; no DOM; the caller passes each second's figures and the time (ms).

const BEHIND_MS = 250;
const PROMPT_MS = 150;
const BEHIND_SECONDS = 2;
const PROMPT_SECONDS = 6;
/** Ask for this share of what arrived: room for the queue to drain, and for the voice. */
const DRAIN = 0.75;
const UP = 1.25;
const FLOOR_BPS = 100_000;
/** Above this the ceiling is lifted (a request of 100 Mbit/s: no cap in practice). */
const LIFT_BPS = 8_000_000;
/** After a request, give the publisher and the queue this long before judging again. */
const SETTLE_MS = 3000;
/**
 * Latency is judged against the lowest of the last minute: the two pages' clocks may differ and
 * the path has a delay of its own; only what queueing adds on top of that is "behind".
 */
const BASELINE_MS = 60_000;

export class LatencyControl {
  constructor() {
    this.reset();
  }

  /** A new stream, or the agent went back to "auto": no ceiling asked for. */
  reset() {
    this.ceiling = null;
    this.recent = [];
    this.behind = 0;
    this.prompt = 0;
    this.lastRequest = -Infinity;
  }

  /**
   * One second's p50 glass-to-glass latency (ms, or null when nothing was drawn) and bit rate
   * received (kbit/s). Returns the `bitrate` to ask for now (bit/s), or null.
   */
  second(latencyMs, receivedKbps, now) {
    if (latencyMs === null || latencyMs === undefined) return null;
    this.recent.push([now, latencyMs]);
    while (this.recent.length && now - this.recent[0][0] > BASELINE_MS) this.recent.shift();
    const added = latencyMs - Math.min(...this.recent.map(([, value]) => value));
    this.behind = added > BEHIND_MS ? this.behind + 1 : 0;
    this.prompt = added < PROMPT_MS ? this.prompt + 1 : 0;
    if (now - this.lastRequest < SETTLE_MS) return null;
    if (this.behind >= BEHIND_SECONDS && receivedKbps > 0) {
      const asked = Math.max(FLOOR_BPS, Math.round(receivedKbps * 1000 * DRAIN));
      if (this.ceiling === null || asked < this.ceiling) return this.request(asked, now);
    }
    if (this.prompt >= PROMPT_SECONDS && this.ceiling !== null) {
      const raised = Math.round(this.ceiling * UP);
      return this.request(raised > LIFT_BPS ? null : raised, now) ?? 100_000_000;
    }
    return null;
  }

  request(bitrate, now) {
    this.ceiling = bitrate;
    this.lastRequest = now;
    this.behind = 0;
    this.prompt = 0;
    return bitrate;
  }
}
