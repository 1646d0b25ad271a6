// Media statistics for the pages, once a second: what a publisher sends and what a view
// shows. Written as text for people and as data attributes (data-codec, data-width,
// data-height, data-fps, data-kbps, data-latency-ms, data-bitrate) for tests and benchmarks.

/** Counts frames, bytes and glass-to-glass latencies between two readings. */
export class MediaMeter {
  constructor(now = performance.now()) {
    this.since = now;
    this.frameCount = 0;
    this.byteCount = 0;
    this.latencies = [];
  }

  /** Payload bytes sent or received. */
  bytes(count) {
    this.byteCount += count;
  }

  /** A frame sent or shown; `latencyMs`: now minus its capture time, when known. */
  frame(latencyMs) {
    this.frameCount += 1;
    if (Number.isFinite(latencyMs) && this.latencies.length < 1000) this.latencies.push(latencyMs);
  }

  /** {fps, kbps, latencyMs (p50, or null)} since the last reading; starts a new interval. */
  take(now = performance.now()) {
    const seconds = Math.max(0.001, (now - this.since) / 1000);
    const sorted = this.latencies.sort((a, b) => a - b);
    const result = {
      fps: Math.round(this.frameCount / seconds),
      kbps: Math.round((this.byteCount * 8) / 1000 / seconds),
      latencyMs: sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)]) : null,
    };
    this.since = now;
    this.frameCount = 0;
    this.byteCount = 0;
    this.latencies = [];
    return result;
  }
}

const ATTRIBUTES = { codec: "codec", width: "width", height: "height", fps: "fps", kbps: "kbps", latencyMs: "latencyMs", bitrate: "bitrate" };

/**
 * Shows `stats` ({codec, width, height, fps, kbps, latencyMs?, bitrate?, quality?}) on
 * `element`; `label` (e.g. "camera") starts the text. Missing values clear their attribute.
 */
export function showStats(element, stats, label = "") {
  if (!element) return;
  for (const [key, name] of Object.entries(ATTRIBUTES)) {
    const value = stats[key];
    if (value === null || value === undefined || value === "") delete element.dataset[name];
    else element.dataset[name] = String(value);
  }
  const parts = [];
  if (label) parts.push(label);
  if (stats.codec) parts.push(stats.width ? `${stats.codec} ${stats.width}×${stats.height}` : stats.codec);
  parts.push(`${stats.fps} fps`, `${stats.kbps} kbit/s`);
  if (stats.bitrate) parts.push(`target ${Math.round(stats.bitrate / 1000)} kbit/s`);
  if (stats.quality) parts.push(`quality ${Math.round(stats.quality * 100)} %`);
  if (stats.latencyMs !== null && stats.latencyMs !== undefined) parts.push(`${stats.latencyMs} ms behind`);
  element.textContent = parts.join(" · ");
}

/** Clears what showStats wrote, with an optional `text` in its place. */
export function clearStats(element, text = "") {
  if (!element) return;
  for (const name of Object.values(ATTRIBUTES)) delete element.dataset[name];
  element.textContent = text;
}
