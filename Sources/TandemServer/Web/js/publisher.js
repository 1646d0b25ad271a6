// Captures the camera or the screen and publishes it as a stream of JPEG frames
// (protocol/README.md §4, §5.9), adapting down when the broker reports drops.

const MIN_QUALITY = 0.3;
const MIN_FPS = 1;

export class Publisher {
  /** `socket`: TandemSocket; options: streamId, fps, quality, maxWidth; onFrame(sequence, blob). */
  constructor(socket, options = {}) {
    this.socket = socket;
    this.streamId = options.streamId ?? 1;
    this.targetFps = options.fps ?? 5;
    this.targetQuality = options.quality ?? 0.7;
    this.fps = this.targetFps;
    this.quality = this.targetQuality;
    this.maxWidth = options.maxWidth ?? 1280;
    this.onFrame = options.onFrame;
    this.sequence = 0;
    this.paused = false;
    this.media = null;
    this.timer = null;
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.playsInline = true;
    this.canvas = document.createElement("canvas");
    this.lastDrop = 0;
    this.framesSent = 0;
  }

  /** `source` is "camera" or "screen"; `facingMode` "environment" (rear) or "user". */
  async start(source, facingMode = "environment") {
    this.source = source;
    this.facingMode = facingMode;
    const media = source === "screen"
      ? await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false })
      : await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: facingMode }, width: { ideal: 1280 } }, audio: false });
    this.stopTracks();
    this.media = media;
    media.getVideoTracks()[0]?.addEventListener("ended", () => this.stop());
    this.video.srcObject = media;
    await this.video.play();
    this.announce();
    this.schedule();
  }

  async switchCamera() {
    if (this.source !== "camera") return;
    await this.start("camera", this.facingMode === "environment" ? "user" : "environment");
  }

  announce() {
    const scale = Math.min(1, this.maxWidth / (this.video.videoWidth || this.maxWidth));
    this.canvas.width = Math.max(1, Math.round((this.video.videoWidth || 640) * scale));
    this.canvas.height = Math.max(1, Math.round((this.video.videoHeight || 480) * scale));
    this.socket.send({
      type: "stream.start", streamId: this.streamId, source: this.source, codec: "jpeg",
      width: this.canvas.width, height: this.canvas.height, fps: this.fps,
    });
  }

  schedule() {
    clearTimeout(this.timer);
    if (!this.media) return;
    this.timer = setTimeout(() => this.captureOne().finally(() => this.schedule()), 1000 / this.fps);
  }

  async captureOne() {
    if (this.paused || !this.media || this.video.readyState < 2) return;
    // A bounded send queue: skip the frame while more than two frames wait in the browser.
    if (this.socket.bufferedAmount > 2 * this.canvas.width * this.canvas.height * this.quality / 4) {
      this.adaptDown();
      return;
    }
    const context = this.canvas.getContext("2d");
    context.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    const blob = await new Promise((resolve) => this.canvas.toBlob(resolve, "image/jpeg", this.quality));
    if (!blob || !this.media) return;
    const sequence = this.sequence;
    this.sequence = (this.sequence + 1) >>> 0;
    const payload = new Uint8Array(await blob.arrayBuffer());
    this.socket.sendFrame({ codec: "jpeg", keyframe: true, streamId: this.streamId, sequence, timestampMicros: BigInt(Date.now()) * 1000n }, payload);
    this.framesSent += 1;
    this.onFrame?.(sequence, blob);
    if (performance.now() - this.lastDrop > 5000) this.adaptUp();
  }

  /** stream.control for this stream, from the viewer or the broker. */
  control(message) {
    switch (message.action) {
      case "pause": this.pause(); break;
      case "resume": this.resume(); break;
      case "quality":
        if (message.fps) this.targetFps = this.fps = Math.min(30, message.fps);
        if (message.quality) this.targetQuality = this.quality = message.quality;
        this.schedule();
        break;
      case "keyframe":
        // Every JPEG frame is a keyframe; a request from the broker means it dropped frames.
        if (message.origin === "broker") this.adaptDown();
        break;
    }
  }

  adaptDown() {
    this.lastDrop = performance.now();
    this.quality = Math.max(MIN_QUALITY, this.quality * 0.8);
    this.fps = Math.max(MIN_FPS, this.fps * 0.75);
  }

  adaptUp() {
    this.quality = Math.min(this.targetQuality, this.quality + 0.05);
    this.fps = Math.min(this.targetFps, this.fps + 0.5);
  }

  pause() {
    if (this.paused || !this.media) return;
    this.paused = true;
    this.socket.send({ type: "stream.pause", streamId: this.streamId });
  }

  resume() {
    if (!this.paused || !this.media) return;
    this.paused = false;
    this.socket.send({ type: "stream.resume", streamId: this.streamId });
  }

  stop() {
    if (!this.media) return;
    this.stopTracks();
    this.media = null;
    clearTimeout(this.timer);
    this.socket.send({ type: "stream.stop", streamId: this.streamId });
  }

  stopTracks() {
    this.media?.getTracks().forEach((track) => track.stop());
  }

  get active() {
    return this.media !== null;
  }
}
