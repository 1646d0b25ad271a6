// Captures the camera or the screen and publishes it as one stream (protocol/README.md §4,
// §5.9): WebCodecs video in a codec the peer decodes (video-sender.js), else JPEG frames
// (jpeg-sender.js) — for old peers, browsers without VideoEncoder, or ?video=jpeg.
import { CaptureClock } from "./clock.js";
import { chooseVideoCodec } from "./codecs.js";
import { JpegSender } from "./jpeg-sender.js";
import { SceneTracker } from "./scene-tracker.js";
import { MediaMeter } from "./stats.js";
import { VideoSender } from "./video-sender.js";

// At most this many `track` messages a second (§5.15), whatever the frame rate.
const MAX_TRACKS_PER_SECOND = 30;
// Captures waiting for their frame's sequence, or their tracking result.
const KEEP_CAPTURES = 64;

export class Publisher {
  /**
   * `socket`: TandemSocket. options: streamId; peerCodecs (what the peer decodes, §5.1; null
   * for an old client: JPEG); video (a codec forced with ?video=, or null); fps, quality and
   * maxWidth (JPEG); onFrame(sequence, Blob | ImageBitmap) for each frame sent (the preview;
   * an ImageBitmap becomes the callee's to close); onTrack(track) for each `track` sent (§5.15:
   * a camera's scene tracking, on unless `track` is false).
   */
  constructor(socket, options = {}) {
    this.socket = socket;
    this.streamId = options.streamId ?? 1;
    this.peerCodecs = options.peerCodecs ?? null;
    this.forced = options.video ?? null;
    this.limits = options.limits ?? null;
    this.jpeg = { fps: options.fps ?? 5, quality: options.quality ?? 0.7, maxSide: options.maxWidth ?? 1280 };
    this.onFrame = options.onFrame;
    this.onTrack = options.onTrack ?? null;
    this.tracking = options.track ?? true;
    this.tracker = null;
    this.capture = 0;
    // capture → sequence of its frame, and capture → tracking result: a track goes out once both are known.
    this.sequences = new Map();
    this.results = new Map();
    this.lastTrackAt = -Infinity;
    // Epochs only grow on a stream (§5.15): a new tracker (another camera) counts on from the last.
    this.epochBase = 0;
    this.lastEpoch = 0;
    this.sequence = 0;
    this.paused = false;
    this.media = null;
    this.sender = null;
    this.failedCodecs = [];
    this.generation = 0;
    this.announced = false;
    this.clock = null;
    this.nextAt = 0;
    this.meter = new MediaMeter();
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.playsInline = true;
    // An OffscreenCanvas hands its picture over as an ImageBitmap without a copy (the preview).
    this.canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(2, 2) : document.createElement("canvas");
    this.context = this.canvas.getContext("2d", { alpha: false });
    this.width = 0;
    this.height = 0;
  }

  /** `source` is "camera" or "screen"; `facingMode` "environment" (rear) or "user". */
  async start(source, facingMode = "environment") {
    this.source = source;
    this.facingMode = facingMode;
    const media = source === "screen"
      ? await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: false })
      : await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: facingMode }, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    this.media?.getTracks().forEach((track) => track.stop());
    this.media = media;
    media.getVideoTracks()[0]?.addEventListener("ended", () => this.stop());
    this.video.srcObject = media;
    await this.video.play();
    // A camera's scene is tracked (§5.15), so shapes drawn on it stay on the object; a screen's is not.
    this.tracker?.close();
    this.tracker = null;
    this.epochBase = this.lastEpoch;
    if (source === "camera" && this.tracking && typeof Worker === "function") {
      this.tracker = new SceneTracker({ onResult: (result) => this.tracked(result) });
    }
    this.clock ??= new CaptureClock();
    await this.restartStream();
    this.schedule();
  }

  async switchCamera() {
    if (this.source !== "camera") return;
    await this.start("camera", this.facingMode === "environment" ? "user" : "environment");
  }

  /**
   * The peer's codecs changed (a transfer, a resume, §5.1). The stream goes on while the new
   * peer decodes its video codec; otherwise (or from JPEG to video) it restarts on another.
   */
  async setPeerCodecs(codecs) {
    this.peerCodecs = codecs;
    const current = this.sender?.codec;
    if (current && current !== "jpeg" && !this.forced && codecs?.includes(current)) return;
    if (this.media) await this.restartStream({ sameCodec: "keep" });
  }

  /**
   * Chooses the codec for the peer and starts the stream on it: stream.start (same streamId)
   * before its first frame, a keyframe first. `sameCodec`: "restart" or "keep" the stream.
   */
  async restartStream({ sameCodec = "restart" } = {}) {
    const generation = ++this.generation;
    const choice = await chooseVideoCodec(this.peerCodecs, { forced: this.forced, exclude: this.failedCodecs });
    if (generation !== this.generation || !this.media) return;
    const codec = choice?.codec ?? "jpeg";
    if (this.sender?.codec === codec) {
      if (sameCodec === "restart") this.sender.restart();
      return;
    }
    this.sender?.close();
    this.sender = choice ? new VideoSender(this, choice, this.source, this.limits) : new JpegSender(this, this.jpeg);
  }

  /** Called by a VideoSender whose encoder broke: publish with the next codec (or JPEG). */
  senderFailed(sender) {
    if (sender !== this.sender) return;
    this.failedCodecs.push(sender.codec);
    this.sender = null;
    if (this.media) this.restartStream();
  }

  schedule() {
    if (!this.media || !this.clock) return;
    const now = performance.now();
    // A steady pace: each capture is due one interval after the previous one was due.
    this.nextAt = Math.max(now, this.nextAt + 1000 / (this.sender?.fps ?? this.jpeg.fps));
    this.clock.after(this.nextAt - now, () => this.captureOne().catch((error) => console.warn("Tandem: capture failed", error)).finally(() => this.schedule()));
  }

  async captureOne() {
    const sender = this.sender;
    if (this.paused || !this.media || !sender || this.video.readyState < 2) return;
    // Frames made while the connection is down would be lost; the first one after it is a keyframe.
    if (!this.socket.isOpen) return sender.requestKeyframe();
    const now = performance.now();
    sender.tick(now);
    this.resize(sender.maxSide);
    if (sender.busy(this.socket.bufferedAmount, now, this.width, this.height)) return;
    this.context.drawImage(this.video, 0, 0, this.width, this.height);
    // Tracked before encoding: a video sender may take the canvas's picture over.
    const capture = (this.capture = (this.capture + 1) >>> 0);
    this.tracker?.push(capture, this.canvas, this.width, this.height);
    await sender.encode(this.canvas, this.width, this.height, Boolean(this.onFrame), capture);
  }

  /** The tracker's result for a capture: sent once the capture's frame has its sequence. */
  tracked(result) {
    const sequence = this.sequences.get(result.sequence);
    if (sequence === undefined) return remember(this.results, result.sequence, result);
    this.sequences.delete(result.sequence);
    this.sendTrack(sequence, result);
  }

  sendTrack(sequence, result) {
    const now = performance.now();
    if (now - this.lastTrackAt < 1000 / MAX_TRACKS_PER_SECOND || !this.socket.isOpen || !this.announced) return;
    this.lastTrackAt = now;
    const m = result.m.map((value) => Math.round(value * 1e6) / 1e6);
    const epoch = this.epochBase + result.epoch;
    this.lastEpoch = Math.max(this.lastEpoch, epoch);
    const track = { type: "track", streamId: this.streamId, sequence, epoch, state: result.state, m };
    this.socket.send(track);
    this.onTrack?.(track);
  }

  /** The capture size: the video's, its longer side at most `maxSide`, even (4:2:0 video). */
  resize(maxSide) {
    const videoWidth = this.video.videoWidth || 640;
    const videoHeight = this.video.videoHeight || 480;
    const scale = Math.min(1, maxSide / Math.max(videoWidth, videoHeight));
    const even = (value) => Math.max(2, 2 * Math.round((value * scale) / 2));
    const width = even(videoWidth);
    const height = even(videoHeight);
    if (width === this.width && height === this.height) return;
    this.width = this.canvas.width = width;
    this.height = this.canvas.height = height;
  }

  /** stream.start for the stream (from a sender, right before its first frame). */
  announce({ codec, width, height, fps, decoderConfig }) {
    this.socket.send({ type: "stream.start", streamId: this.streamId, source: this.source, codec, width, height, fps, decoderConfig });
    this.announced = true;
  }

  /** Sends one encoded frame (of `capture`, when known); returns false when the connection is down. */
  emit(header, payload, preview, capture = null) {
    if (!this.socket.isOpen) {
      preview?.close?.();
      return false;
    }
    const sequence = this.sequence;
    this.sequence = (this.sequence + 1) >>> 0;
    this.socket.sendFrame({ ...header, streamId: this.streamId, sequence }, payload);
    this.meter.bytes(payload.byteLength);
    this.meter.frame();
    if (preview && this.onFrame) this.onFrame(sequence, preview);
    else preview?.close?.();
    if (capture !== null && this.tracker) {
      const result = this.results.get(capture);
      if (result) {
        this.results.delete(capture);
        this.sendTrack(sequence, result);
      } else {
        remember(this.sequences, capture, sequence);
      }
    }
    return true;
  }

  /** stream.control for this stream, from the viewer or the broker (§5.9). */
  control(message) {
    switch (message.action) {
      case "pause": this.pause(); break;
      case "resume": this.resume(); break;
      default: this.sender?.control(message, performance.now());
    }
  }

  /** The receiver missed frames (it came back, or a new agent took over): next frame key. */
  requestKeyframe() {
    this.sender?.requestKeyframe();
  }

  pause() {
    if (this.paused || !this.media) return;
    this.paused = true;
    if (this.announced) this.socket.send({ type: "stream.pause", streamId: this.streamId });
  }

  resume() {
    if (!this.paused || !this.media) return;
    this.paused = false;
    this.requestKeyframe();
    if (this.announced) this.socket.send({ type: "stream.resume", streamId: this.streamId });
  }

  stop() {
    if (!this.media) return;
    this.stopTracks();
    this.socket.send({ type: "stream.stop", streamId: this.streamId });
  }

  /** Stops capturing and encoding, without a word to the peer (the session is over). */
  stopTracks() {
    this.media?.getTracks().forEach((track) => track.stop());
    this.media = null;
    this.tracker?.close();
    this.tracker = null;
    this.generation += 1;
    this.clock?.close();
    this.clock = null;
    this.sender?.close();
    this.sender = null;
  }

  get active() {
    return this.media !== null;
  }

  /** This second's statistics (stats.js): codec, size, fps and kbit/s sent, the target. */
  takeStats(now = performance.now()) {
    const target = this.sender?.target ?? {};
    return {
      codec: this.sender?.codec ?? null, width: this.width || null, height: this.height || null,
      ...this.meter.take(now), bitrate: target.bitrate ?? null, quality: target.quality ?? null,
    };
  }
}

/** Sets `key` in a map that keeps only its newest KEEP_CAPTURES entries. */
function remember(map, key, value) {
  map.set(key, value);
  if (map.size > KEEP_CAPTURES) map.delete(map.keys().next().value);
}
