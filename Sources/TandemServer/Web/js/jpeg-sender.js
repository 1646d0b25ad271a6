// Encodes captured pictures as JPEG frames (protocol/README.md §4.1), every one a keyframe:
// the fallback for old peers and browsers without WebCodecs. Lowers JPEG quality and frame
// rate when the broker reports drops or the send buffer fills; recovers after 5 s of calm.

const MIN_QUALITY = 0.3;
// Above 0.9 a JPEG grows a lot and looks no better: "high" (quality 1) means 0.9 here.
const MAX_QUALITY = 0.9;
const MIN_FPS = 1;
const MAX_FPS = 10;
const CALM_MS = 5000;

export class JpegSender {
  /** `sink`: the Publisher (announce, emit). options: fps, quality (0–1), maxSide (px). */
  constructor(sink, { fps = 5, quality = 0.7, maxSide = 1280 } = {}) {
    this.sink = sink;
    this.codec = "jpeg";
    this.targetFps = this.fps = Math.min(MAX_FPS, fps);
    this.targetQuality = this.quality = Math.min(MAX_QUALITY, quality);
    this.maxSide = maxSide;
    this.lastDrop = -Infinity;
    this.announced = false;
    this.closed = false;
  }

  /** For the statistics: the JPEG quality in use. */
  get target() {
    return { quality: this.quality };
  }

  /** A bounded send queue: skip the frame while more than two frames wait in the browser. */
  busy(bufferedAmount, now, width, height) {
    if (bufferedAmount <= (2 * width * height * this.quality) / 4) return false;
    this.adaptDown(now);
    return true;
  }

  tick() {}

  /** `capture` (the publisher's number for the picture) comes back with its frame. */
  async encode(canvas, width, height, preview, capture = null) {
    const timestampMicros = BigInt(Date.now()) * 1000n;
    const blob = typeof canvas.convertToBlob === "function"
      ? await canvas.convertToBlob({ type: "image/jpeg", quality: this.quality })
      : await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", this.quality));
    if (!blob || this.closed) return;
    const payload = new Uint8Array(await blob.arrayBuffer());
    if (this.closed) return;
    if (!this.announced) {
      this.sink.announce({ codec: "jpeg", width, height, fps: this.fps });
      this.announced = true;
    }
    this.sink.emit({ codec: "jpeg", keyframe: true, timestampMicros }, payload, blob, capture);
    if (performance.now() - this.lastDrop > CALM_MS) this.adaptUp();
  }

  /** stream.control from the receiver or the broker (§5.9). */
  control(message, now) {
    if (message.action === "quality") {
      if (message.fps) this.targetFps = this.fps = Math.min(MAX_FPS, message.fps);
      if (message.quality) this.targetQuality = this.quality = Math.min(MAX_QUALITY, message.quality);
    } else if (message.action === "keyframe" && message.origin === "broker") {
      // Every JPEG frame is a keyframe; a request from the broker means it dropped frames.
      this.adaptDown(now);
    }
  }

  adaptDown(now) {
    this.lastDrop = now;
    this.quality = Math.max(MIN_QUALITY, this.quality * 0.8);
    this.fps = Math.max(MIN_FPS, this.fps * 0.75);
  }

  adaptUp() {
    this.quality = Math.min(this.targetQuality, this.quality + 0.05);
    this.fps = Math.min(this.targetFps, this.fps + 0.5);
  }

  requestKeyframe() {}

  /** Starts the stream over (another camera): a new stream.start before the next frame. */
  restart() {
    this.announced = false;
  }

  close() {
    this.closed = true;
  }
}
