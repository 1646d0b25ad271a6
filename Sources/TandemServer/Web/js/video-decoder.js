// Decodes one video stream with WebCodecs (protocol/README.md §4.1, §5.9). It starts at a
// keyframe; after a gap in the sequence numbers or a decoder error it starts over at the
// next keyframe and asks the publisher for one. Only the latest picture matters: when
// decoding falls behind, frames are dropped up to the next keyframe rather than queued.

/** Decoding is behind when more than this many frames wait in the decoder. */
const MAX_QUEUE = 3;
/** Keyframe requests: at most one per 500 ms, repeated each second while still waiting. */
const ASK_GAP_MS = 500;
const ASK_AGAIN_MS = 1000;
/** Errors in a row without a picture before the stream is given up (an unsupported config). */
const MAX_FAILURES = 3;
const MAX_PENDING = 16;

/** Standard base64 (§5.9 `decoderConfig.description`) to bytes; null if it is not base64. */
export function fromBase64(text) {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

export class StreamDecoder {
  /**
   * `onFrame(videoFrame, sequence, timestampMicros)`: a decoded picture, which the callee must
   * close. `onNeedKeyframe()`: ask the publisher for a keyframe.
   */
  constructor({ onFrame, onNeedKeyframe }) {
    this.onFrame = onFrame;
    this.onNeedKeyframe = onNeedKeyframe;
    this.decoder = null;
    this.config = null;
    this.codec = null;
    this.failures = 0;
    this.lastAsk = -Infinity;
    this.reset();
  }

  /** (Re)configures for a stream: `codec` (protocol name) and the WebCodecs `config`. */
  configure(codec, config) {
    this.codec = codec;
    this.config = { ...config, optimizeForLatency: true };
    this.failures = 0;
    this.reset();
  }

  /** Drops what is queued; the next frame decoded must be a keyframe. */
  reset() {
    this.waitingForKey = true;
    this.expected = null;
    this.pending = [];
    if (!this.config || this.failures >= MAX_FAILURES) return;
    if (!this.decoder || this.decoder.state === "closed") {
      this.decoder = new VideoDecoder({ output: (frame) => this.output(frame), error: (error) => this.failed(error) });
    }
    try {
      if (this.decoder.state === "configured") this.decoder.reset();
      this.decoder.configure(this.config);
    } catch (error) {
      this.failed(error);
    }
  }

  /** Gave up on the stream (its configuration does not decode here). */
  get broken() {
    return this.failures >= MAX_FAILURES;
  }

  /** A received frame of the stream (protocol.js decodeFrame). */
  decode(frame) {
    if (this.broken || !this.decoder) return;
    const gap = this.expected !== null && frame.sequence !== this.expected;
    this.expected = (frame.sequence + 1) >>> 0;
    if (gap) {
      // Frames were lost on the way (§5.9): what follows cannot be decoded before a keyframe.
      this.reset();
      this.expected = (frame.sequence + 1) >>> 0;
      if (!frame.keyframe) this.ask(true);
    }
    if (this.waitingForKey && !frame.keyframe) {
      this.ask();
      return;
    }
    if (!frame.keyframe && this.decoder.decodeQueueSize > MAX_QUEUE) {
      this.waitingForKey = true;
      this.ask(true);
      return;
    }
    this.waitingForKey = false;
    const timestamp = Number(frame.timestampMicros);
    this.pending.push({ timestamp, sequence: frame.sequence });
    if (this.pending.length > MAX_PENDING) this.pending.shift();
    try {
      this.decoder.decode(new EncodedVideoChunk({ type: frame.keyframe ? "key" : "delta", timestamp, data: frame.payload }));
    } catch (error) {
      this.failed(error);
    }
  }

  output(videoFrame) {
    this.failures = 0;
    // Pictures come out in presentation order; the capture time finds the sequence number.
    const index = this.pending.findIndex((entry) => entry.timestamp === videoFrame.timestamp);
    const entry = index >= 0 ? this.pending.splice(index, 1)[0] : null;
    this.onFrame(videoFrame, entry?.sequence ?? null, videoFrame.timestamp);
  }

  failed(error) {
    this.failures += 1;
    console.warn(`Tandem: the ${this.codec} decoder failed (${this.failures})`, error?.message ?? error);
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.decoder = null;
    this.reset();
    if (!this.broken) this.ask(true);
  }

  /** Asks for a keyframe: at once if `urgent` (but not twice in 500 ms), else once a second. */
  ask(urgent = false) {
    const now = performance.now();
    if (now - this.lastAsk < (urgent ? ASK_GAP_MS : ASK_AGAIN_MS)) return;
    this.lastAsk = now;
    this.onNeedKeyframe?.();
  }

  close() {
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.decoder = null;
    this.config = null;
  }
}
