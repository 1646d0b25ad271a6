// Encodes captured pictures with a WebCodecs VideoEncoder (protocol/README.md §4.1, §5.9):
// vp8, vp9, h264 (Annex-B) or av1; a keyframe on request and every 3 s (10 s while congested); the bitrate, size
// and frame rate the adaptation policy (adaptive.js) allows. One stream of a Publisher.
import { AdaptivePolicy, CAMERA, SCREEN } from "./adaptive.js";
import { CODEC_STRINGS, encoderConfig } from "./codecs.js";

const KEYFRAME_EVERY_MS = 3000;
// On a short link a keyframe holds it for a moment, and the voice waits behind it: while the
// bit rate is held well under its maximum the periodic keyframe comes less often. Requests
// (a receiver or the broker lost frames) are still answered with the next frame.
const KEYFRAME_EVERY_CONGESTED_MS = 10000;
/** Frames waiting in the encoder beyond which captures are skipped: no backlog, ever. */
const MAX_ENCODE_QUEUE = 2;
/** §5.9: `decoderConfig.description` is at most 4096 base64 characters. */
const MAX_DESCRIPTION = 4096;

function toBase64(buffer) {
  const bytes = ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

export class VideoSender {
  /**
   * `sink`: the Publisher (announce, emit, senderFailed). `choice`: {codec, bitrateMode} from
   * chooseVideoCodec. `source`: "camera" or "screen" (their limits differ, adaptive.js).
   * `limits`: optional overrides of those limits.
   */
  constructor(sink, choice, source, limits = null) {
    this.sink = sink;
    this.codec = choice.codec;
    this.bitrateMode = choice.bitrateMode;
    // `limits` ({maxFps, maxBitrate}, from ?fps= / ?kbps=) override the source's, for benchmarks.
    this.policy = new AdaptivePolicy({ ...(source === "screen" ? SCREEN : CAMERA), ...(limits ?? {}) });
    this.encoder = new VideoEncoder({ output: (chunk, metadata) => this.output(chunk, metadata), error: (error) => this.failed(error) });
    this.configured = null;
    this.announced = false;
    this.forceKey = true;
    this.lastKeyAt = -Infinity;
    this.lastTimestamp = 0;
    this.closed = false;
    /** Frames in the encoder, in order: {timestamp, width, height, bitmap (preview or null)}. */
    this.queue = [];
  }

  get fps() {
    return this.policy.state.fps;
  }

  /** Cap on the longer side of the picture, px. */
  get maxSide() {
    return this.policy.state.width;
  }

  /** For the statistics: the bitrate aimed at. */
  get target() {
    return { bitrate: this.policy.state.bitrate };
  }

  /** Whether to skip this capture: the encoder or the socket is behind. */
  busy(bufferedAmount, now) {
    if (this.closed || this.encoder.encodeQueueSize > MAX_ENCODE_QUEUE) return true;
    return this.policy.onBuffered(bufferedAmount, now);
  }

  tick(now) {
    this.policy.onTick(now);
  }

  /**
   * Encodes the picture on `canvas` (width × height); with `preview`, its ImageBitmap goes to
   * the page. `capture` (the publisher's number for the picture) comes back with its frame.
   */
  async encode(canvas, width, height, preview, capture = null) {
    if (this.closed) return;
    const now = performance.now();
    // Capture time in µs since the epoch (§4): the chunk's timestamp is then the header's.
    const timestamp = Math.max(Date.now() * 1000, this.lastTimestamp + 1);
    this.lastTimestamp = timestamp;
    let bitmap = null;
    if (preview) bitmap = typeof canvas.transferToImageBitmap === "function" ? canvas.transferToImageBitmap() : await createImageBitmap(canvas);
    if (this.closed) return bitmap?.close();
    this.reconfigure(width, height);
    const congested = this.policy.state.bitrate < this.policy.limits.maxBitrate * 0.75;
    const keyFrame = this.forceKey || now - this.lastKeyAt >= (congested ? KEYFRAME_EVERY_CONGESTED_MS : KEYFRAME_EVERY_MS);
    if (keyFrame) {
      this.forceKey = false;
      this.lastKeyAt = now;
    }
    const frame = new VideoFrame(bitmap ?? canvas, { timestamp, duration: Math.round(1e6 / this.fps), alpha: "discard" });
    try {
      this.encoder.encode(frame, { keyFrame });
      this.queue.push({ timestamp, width, height, bitmap, capture });
    } catch (error) {
      bitmap?.close();
      this.failed(error);
    } finally {
      frame.close();
    }
  }

  /** Applies the policy's bitrate, size and frame rate; a new size starts with a keyframe. */
  reconfigure(width, height) {
    const { bitrate, fps } = this.policy.state;
    const current = this.configured;
    if (current && current.width === width && current.height === height && current.bitrate === bitrate && current.fps === fps) return;
    this.encoder.configure(encoderConfig(this.codec, { width, height, bitrate, framerate: fps, bitrateMode: this.bitrateMode }));
    if (!current || current.width !== width || current.height !== height) this.forceKey = true;
    this.configured = { width, height, bitrate, fps };
  }

  output(chunk, metadata) {
    if (this.closed) return;
    // Pictures the encoder dropped never come out: their previews go with them.
    let entry = null;
    while (this.queue.length && this.queue[0].timestamp <= chunk.timestamp) {
      const next = this.queue.shift();
      if (next.timestamp === chunk.timestamp) entry = next;
      else next.bitmap?.close();
    }
    const key = chunk.type === "key";
    if (!this.announced) {
      // A (re)started stream begins at a keyframe, announced first (§5.9).
      if (!key) return entry?.bitmap?.close();
      const size = entry ?? this.configured;
      this.sink.announce({ codec: this.codec, width: size.width, height: size.height, fps: this.fps, decoderConfig: this.decoderConfig(metadata) });
      this.announced = true;
    }
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    const header = { codec: this.codec, keyframe: key, timestampMicros: BigInt(Math.round(chunk.timestamp)) };
    // A frame that could not be sent leaves a hole: the receiver needs a keyframe after it.
    if (!this.sink.emit(header, payload, entry?.bitmap ?? null, entry?.capture ?? null)) this.forceKey = true;
  }

  /** §5.9: the codec string, and the encoder's description unless the stream carries it (Annex-B). */
  decoderConfig(metadata) {
    const config = { codec: CODEC_STRINGS[this.codec] };
    const description = metadata?.decoderConfig?.description;
    if (description && this.codec !== "h264" && description.byteLength > 0) {
      const text = toBase64(description);
      if (text.length <= MAX_DESCRIPTION) config.description = text;
    }
    return config;
  }

  /** stream.control from the receiver or the broker (§5.9). */
  control(message, now) {
    if (message.action === "keyframe") {
      this.forceKey = true;
      // From the broker: it dropped frames for a slow receiver. Send less.
      if (message.origin === "broker") this.policy.onDropSignal(now);
    } else if (message.action === "quality") {
      this.policy.onQualityRequest(message.quality, message.fps, message.bitrate);
    }
  }

  requestKeyframe() {
    this.forceKey = true;
  }

  /** Starts the stream over (another camera): a new stream.start before the next keyframe. */
  restart() {
    this.announced = false;
    this.forceKey = true;
  }

  failed(error) {
    if (this.closed) return;
    console.warn(`Tandem: the ${this.codec} encoder failed; trying another codec`, error?.message ?? error);
    this.close();
    this.sink.senderFailed(this, error);
  }

  close() {
    this.closed = true;
    if (this.encoder.state !== "closed") this.encoder.close();
    for (const entry of this.queue) entry.bitmap?.close();
    this.queue = [];
  }
}
