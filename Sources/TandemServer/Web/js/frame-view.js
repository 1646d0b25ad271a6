// Shows a stream's frames on a canvas, keeps the last few for freeze-frame, and draws the
// stream's overlay on a second canvas stacked on top. Images (jpeg, png, webp) are decoded
// one at a time; video (vp8, vp9, h264, av1) with WebCodecs, configured from the stream's
// stream.start (protocol/README.md §4.1, §5.9). Audio frames are not this view's business.
import { CODEC_STRINGS, isVideoCodec } from "./codecs.js";
import { Overlay, drawShapes } from "./overlay.js";
import { MediaMeter } from "./stats.js";
import { StreamDecoder, fromBase64 } from "./video-decoder.js";

const MIME = { jpeg: "image/jpeg", png: "image/png", webp: "image/webp" };
/** The image codecs this view draws without a video decoder (protocol/README.md §4.1). */
export const IMAGE_CODECS = new Set(Object.keys(MIME));
// Pictures kept for freeze-frame: compressed images are small, decoded video pictures are not
// (a 720p picture is 3.7 MB: 20 of them cover the second or so a frozen frame lags behind).
const KEEP_IMAGES = 90;
const KEEP_VIDEO = 20;

export class FrameView {
  /** options: onNeedKeyframe() — ask the stream's publisher for a keyframe (stream.control, §5.9). */
  constructor(canvas, overlayCanvas, options = {}) {
    this.canvas = canvas;
    this.overlayCanvas = overlayCanvas;
    this.onNeedKeyframe = options.onNeedKeyframe ?? null;
    this.overlay = new Overlay();
    this.recent = new Map();
    this.keep = KEEP_IMAGES;
    this.held = null;
    this.frames = 0;
    this.decoded = 0;
    this.codec = null;
    this.decoder = null;
    this.meter = new MediaMeter();
    this.lastSequence = null;
    this.shownSequence = null;
    this.drawnVersion = -1;
    this.decoding = false;
    this.pending = null;
    this.tick = this.tick.bind(this);
    requestAnimationFrame(this.tick);
  }

  /**
   * The stream's `stream.start` (§5.9): its codec and, for video, the decoder configuration.
   * Returns false for a stream this view does not show (audio, or a codec it does not know).
   */
  startStream(message) {
    if (!IMAGE_CODECS.has(message.codec) && !isVideoCodec(message.codec)) return false;
    this.setCodec(message.codec);
    if (isVideoCodec(message.codec)) this.configureVideo(message.codec, message.decoderConfig, message.width, message.height);
    return true;
  }

  /** The stream stopped: the decoder is released; the last picture stays on the canvas. */
  stopStream() {
    this.decoder?.close();
    this.decoder = null;
  }

  setCodec(codec) {
    this.codec = codec;
    this.canvas.dataset.codec = codec;
    this.keep = isVideoCodec(codec) ? KEEP_VIDEO : KEEP_IMAGES;
    if (!isVideoCodec(codec)) this.stopStream();
  }

  configureVideo(codec, decoderConfig, width, height) {
    if (typeof VideoDecoder !== "function") return;
    const config = { codec: decoderConfig?.codec ?? CODEC_STRINGS[codec] };
    if (width > 0 && height > 0) Object.assign(config, { codedWidth: width, codedHeight: height });
    const description = decoderConfig?.description ? fromBase64(decoderConfig.description) : null;
    if (description) config.description = description;
    this.decoder ??= new StreamDecoder({
      onFrame: (videoFrame, sequence, timestamp) => this.present(videoFrame, sequence, timestamp),
      onNeedKeyframe: () => this.onNeedKeyframe?.(),
    });
    this.decoder.configure(codec, config);
  }

  /**
   * A frame to show: a received one (protocol.js decodeFrame), or on the publisher's own
   * preview a captured Blob (JPEG) or ImageBitmap (video; the view takes it over).
   */
  showFrame(sequence, frame) {
    if (typeof ImageBitmap === "function" && frame instanceof ImageBitmap) return this.showCaptured(sequence, frame);
    const local = frame instanceof Blob;
    if (!local && !IMAGE_CODECS.has(frame.codec) && !isVideoCodec(frame.codec)) return;
    this.frames += 1;
    this.lastSequence = sequence;
    this.canvas.dataset.frames = String(this.frames);
    if (local) return this.showImage(sequence, frame, null);
    this.meter.bytes(frame.payload.byteLength);
    if (isVideoCodec(frame.codec)) {
      // A stream seen without its stream.start (a recording): the codec's usual configuration.
      if (this.codec !== frame.codec || !this.decoder) {
        this.setCodec(frame.codec);
        this.configureVideo(frame.codec);
      }
      this.decoder?.decode(frame);
      return;
    }
    if (this.codec !== frame.codec) this.setCodec(frame.codec);
    this.showImage(sequence, new Blob([frame.payload], { type: MIME[frame.codec] }), frame.timestampMicros);
  }

  /** An image, decoded one at a time; one that arrives meanwhile replaces the waiting one. */
  async showImage(sequence, blob, timestampMicros) {
    if (this.decoding) {
      this.pending = { sequence, blob, timestampMicros };
      return;
    }
    this.decoding = true;
    try {
      let next = { sequence, blob, timestampMicros };
      while (next) {
        this.pending = null;
        const bitmap = await createImageBitmap(next.blob);
        this.countDecoded();
        this.remember(next.sequence, bitmap);
        if (this.overlay.frozenSequence === null) {
          this.draw(next.sequence, bitmap);
          if (next.timestampMicros !== null) this.drawnAt(Number(next.timestampMicros) / 1000);
        }
        next = this.pending;
      }
    } catch (error) {
      console.warn("Tandem: a frame could not be decoded", error);
    } finally {
      this.decoding = false;
    }
  }

  /** A picture the publisher on this page captured (its preview). */
  showCaptured(sequence, bitmap) {
    this.frames += 1;
    this.lastSequence = sequence;
    this.canvas.dataset.frames = String(this.frames);
    this.keep = KEEP_VIDEO;
    this.countDecoded();
    this.remember(sequence, bitmap);
    if (this.overlay.frozenSequence === null) this.draw(sequence, bitmap);
  }

  /** A decoded video picture: drawn at once and closed; kept as an ImageBitmap for freeze-frame. */
  present(videoFrame, sequence, timestamp) {
    this.countDecoded();
    // During a freeze the still stays: later pictures are neither drawn nor kept.
    if (this.overlay.frozenSequence !== null) return videoFrame.close();
    this.draw(sequence, videoFrame, videoFrame.displayWidth, videoFrame.displayHeight);
    videoFrame.close();
    this.drawnAt(timestamp / 1000);
    // The canvas holds the picture in RGB now: copying it costs half of converting the frame again.
    if (sequence !== null) createImageBitmap(this.canvas).then((bitmap) => this.remember(sequence, bitmap), () => {});
  }

  /** A received picture captured at `capturedMs` (epoch ms) is on the canvas: glass-to-glass latency. */
  drawnAt(capturedMs) {
    const latency = Date.now() - capturedMs;
    this.meter.frame(latency);
    this.canvas.dataset.captured = String(Math.round(capturedMs));
    // The last few thousand, on the element, for benchmarks (bench/media.py reads p50/p99).
    const samples = (this.canvas.latencySamples ??= []);
    if (samples.length >= 4096) samples.splice(0, 1024);
    samples.push(latency);
  }

  countDecoded() {
    this.decoded += 1;
    this.canvas.dataset.decoded = String(this.decoded);
  }

  remember(sequence, bitmap) {
    const previous = this.recent.get(sequence);
    if (previous && previous !== bitmap && sequence !== this.overlay.frozenSequence) previous.close?.();
    this.recent.delete(sequence);
    this.recent.set(sequence, bitmap);
    while (this.recent.size > this.keep) {
      const [oldest, old] = this.recent.entries().next().value;
      this.recent.delete(oldest);
      // The frozen picture outlives the window until the freeze ends.
      if (oldest === this.overlay.frozenSequence) this.held = { sequence: oldest, bitmap: old };
      else old.close?.();
    }
  }

  draw(sequence, source, width = source.width, height = source.height) {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.overlayCanvas.width = width;
      this.overlayCanvas.height = height;
      this.drawnVersion = -1;
    }
    this.canvas.getContext("2d").drawImage(source, 0, 0, width, height);
    if (sequence === null) return;
    this.shownSequence = sequence;
    this.canvas.dataset.sequence = String(sequence);
  }

  freeze(sequence) {
    if (this.held && this.held.sequence !== sequence) this.releaseHeld();
    this.overlay.freeze(sequence);
    const bitmap = this.recent.get(sequence) ?? this.held?.bitmap;
    if (bitmap) this.draw(sequence, bitmap);
    this.canvas.dataset.frozen = String(sequence);
  }

  unfreeze() {
    this.overlay.unfreeze();
    this.releaseHeld();
    delete this.canvas.dataset.frozen;
  }

  releaseHeld() {
    this.held?.bitmap.close?.();
    this.held = null;
  }

  /** This second's statistics (stats.js): codec, picture size, fps shown, kbit/s received, p50 latency. */
  takeStats(now = performance.now()) {
    const shown = this.decoded > 0;
    return { codec: this.codec, width: shown ? this.canvas.width : null, height: shown ? this.canvas.height : null, ...this.meter.take(now) };
  }

  /** The frame the overlay is drawn for: the frozen one, else the one on the canvas. */
  get overlaySequence() {
    return this.overlay.frozenSequence ?? this.shownSequence;
  }

  /**
   * Redraws the overlay when it changed, has shapes that expire, or has anchored shapes and
   * another frame is shown (they follow the scene, §5.15). What was drawn where, and for
   * which frame, stays on the overlay canvas as `drawn` (for tests and benchmarks).
   */
  tick() {
    const shapes = this.overlay.visible();
    const animated = shapes.some((shape) => shape.ttlMs || shape.kind === "pointer");
    const sequence = this.overlaySequence;
    const track = this.overlay.trackFor(sequence);
    const moved = (sequence !== this.drawnSequence || track !== this.drawnTrack) && shapes.some((shape) => shape.anchor);
    if (this.overlay.version !== this.drawnVersion || animated || this.extraShapes || moved) {
      const context = this.overlayCanvas.getContext("2d");
      const drawn = drawShapes(context, shapes.concat(this.extraShapes ?? []), this.overlayCanvas.width, this.overlayCanvas.height, track);
      this.overlayCanvas.drawn = { sequence, track: track && { sequence: track.sequence, epoch: track.epoch, state: track.state }, shapes: drawn };
      this.overlayCanvas.dataset.shapes = this.overlay.describe();
      this.overlayCanvas.dataset.tracking = track ? track.state : "none";
      this.drawnVersion = this.overlay.version;
      this.drawnSequence = sequence;
      this.drawnTrack = track;
    }
    requestAnimationFrame(this.tick);
  }
}
