// Voice (protocol/README.md §4.1, §5.9): the microphone as a stream of 20 ms Opus packets
// (VoiceSender), and a peer's packets played through a jitter buffer (VoicePlayer).
// WebCodecs codes, Web Audio plays. Both are optional: voiceSupport() says what this
// browser can do, and a page without them works on without voice.
import { JitterBuffer } from "./jitter-buffer.js";

/** The stream id of a participant's microphone (video uses 1). */
export const VOICE_STREAM_ID = 9;
/** What every opus stream.start announces (§5.9 decoderConfig). */
export const DECODER_CONFIG = { codec: "opus", sampleRate: 48000, numberOfChannels: 1 };
// Past this much unsent data on the WebSocket a packet is dropped, not queued: late voice is useless.
const MAX_BUFFERED = 64 * 1024;
const FRAME_HEADER = 24;
const STALE_MICROS = 250000;

/** `{capture, play}`: whether this browser can send its microphone and play a peer's voice. */
export function voiceSupport() {
  const play = typeof AudioDecoder === "function" && typeof EncodedAudioChunk === "function" && typeof AudioContext === "function";
  const source = typeof MediaStreamTrackProcessor === "function"
    || (typeof AudioWorkletNode === "function" && typeof AudioData === "function" && typeof AudioContext === "function");
  const capture = typeof AudioEncoder === "function" && typeof navigator.mediaDevices?.getUserMedia === "function" && source;
  return { capture, play };
}

function failure(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

// ---- one AudioContext for all playback ----------------------------------------------------

let shared = null;

/** The page's playback context (48 kHz where the browser allows it), created on first use. */
export function audioContext() {
  if (shared === null || shared.state === "closed") {
    try {
      shared = new AudioContext({ latencyHint: "interactive", sampleRate: 48000 });
    } catch {
      shared = new AudioContext({ latencyHint: "interactive" });
    }
    // Allowed without a click when the page has had one (or by policy); else unlockAudio() later.
    shared.resume().catch(() => {});
  }
  return shared;
}

/** Starts (or resumes) playback; call from a click or key handler so autoplay rules allow it. */
export function unlockAudio() {
  if (typeof AudioContext !== "function") return;
  const context = audioContext();
  if (context.state !== "running") context.resume().catch(() => {});
}

/** Closes the playback context (the session is over). */
export function closeAudio() {
  shared?.close().catch(() => {});
  shared = null;
}

// ---- sending ------------------------------------------------------------------------------

export class VoiceSender {
  /**
   * `socket`: TandemSocket. Options: streamId (9), bitrate (24000), capture ("auto",
   * "processor" or "worklet": how samples are read), onEnded() (the microphone went away).
   */
  constructor(socket, options = {}) {
    this.socket = socket;
    this.streamId = options.streamId ?? VOICE_STREAM_ID;
    this.bitrate = options.bitrate ?? 24000;
    this.capture = options.capture ?? "auto";
    this.onEnded = options.onEnded;
    this.sequence = 0;
    this.muted = false;
    // Push-to-talk: while false, audio is dropped without telling the peer (no control traffic per press).
    this.talking = true;
    this.started = false;
    this.stopped = false;
    this.media = null;
    this.track = null;
    this.encoder = null;
    this.sampleRate = null;
    this.epochOffset = null;
    this.nextTimestamp = null;
    this.sent = 0;
    this.dropped = 0;
    this.recent = [];
  }

  /** Asks for the microphone and checks the encoder. Throws (NotAllowedError, NotSupportedError, …); sends nothing. */
  async open() {
    if (!voiceSupport().capture) throw failure("NotSupportedError", "this browser cannot encode voice");
    const check = await AudioEncoder.isConfigSupported(this.config(DECODER_CONFIG.sampleRate)).catch(() => ({ supported: false }));
    if (!check.supported) throw failure("NotSupportedError", "this browser has no Opus encoder");
    const media = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: { ideal: 1 }, sampleRate: { ideal: 48000 } },
      video: false,
    });
    if (this.stopped) {
      for (const track of media.getTracks()) track.stop();
      throw failure("AbortError", "stopped while asking for the microphone");
    }
    this.media = media;
    this.track = media.getAudioTracks()[0];
    this.track.addEventListener("ended", () => {
      if (!this.stopped) this.onEnded?.();
    });
    this.encoder = new AudioEncoder({
      output: (chunk) => this.output(chunk),
      error: (error) => console.warn("Tandem voice: encoder error", error.message),
    });
    const worklet = this.capture === "worklet" || (this.capture === "auto" && typeof MediaStreamTrackProcessor !== "function");
    if (worklet) await this.openWorklet();
  }

  config(sampleRate) {
    return {
      codec: "opus", sampleRate, numberOfChannels: 1, bitrate: this.bitrate,
      opus: { frameDuration: 20000, complexity: 5, usedtx: false, useinbandfec: false },
    };
  }

  /** Announces the stream and starts sending. Call after open() — and, on the customer's side, after the consent. */
  start() {
    if (this.stopped || this.started) return;
    this.started = true;
    this.announce();
    if (!this.worklet) this.readProcessor();
  }

  /** stream.start (again after a reconnection: it replaces the announcement, §5.9). */
  announce() {
    this.socket.send({
      type: "stream.start", streamId: this.streamId, source: "microphone", codec: "opus",
      width: 0, height: 0, fps: 50, decoderConfig: { ...DECODER_CONFIG },
    });
    if (this.muted) this.socket.send({ type: "stream.pause", streamId: this.streamId });
  }

  async readProcessor() {
    // Created only now, so no audio from before start() is waiting in it.
    const reader = new MediaStreamTrackProcessor({ track: this.track }).readable.getReader();
    this.reader = reader;
    while (!this.stopped) {
      let result;
      try {
        result = await reader.read();
      } catch {
        break;
      }
      if (result.done) break;
      this.take(result.value);
    }
  }

  // Browsers without MediaStreamTrackProcessor: an AudioWorklet (a module file, as the CSP
  // wants) posts the samples in 10 ms blocks and they are wrapped in AudioData here.
  async openWorklet() {
    // The microphone's own rate: some browsers cannot connect a stream to a context of another.
    const context = new AudioContext({ latencyHint: "interactive" });
    await context.audioWorklet.addModule(new URL("./voice-worklet.js", import.meta.url));
    const node = new AudioWorkletNode(context, "tandem-capture", {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
      processorOptions: { frames: Math.round(context.sampleRate / 100) },
    });
    const silent = context.createGain();
    silent.gain.value = 0;
    context.createMediaStreamSource(this.media).connect(node).connect(silent).connect(context.destination);
    node.port.onmessage = (event) => {
      if (this.started && !this.stopped) this.takeSamples(event.data, context.sampleRate);
    };
    context.resume().catch(() => {});
    this.worklet = { context, node };
  }

  takeSamples(samples, sampleRate) {
    const duration = (samples.length / sampleRate) * 1e6;
    const now = performance.now() * 1000;
    // Timestamps follow the sample count, so packets stay back to back; re-anchored to the
    // clock when they drift away from it (the first block, a stall).
    let timestamp = this.nextTimestamp;
    if (timestamp === null || Math.abs(now - duration - timestamp) > 50000) timestamp = now - duration;
    this.nextTimestamp = timestamp + duration;
    this.take(new AudioData({ format: "f32-planar", sampleRate, numberOfFrames: samples.length, numberOfChannels: 1, timestamp, data: samples }));
  }

  /** One AudioData from the microphone: encoded, or dropped while muted or when the encoder lags. */
  take(data) {
    try {
      if (this.stopped || this.muted || !this.talking) return;
      // Chromium stamps captured audio on the performance.now() clock; anything else is anchored on arrival.
      if (this.epochOffset === null) {
        const now = performance.now() * 1000;
        this.epochOffset = Math.abs(data.timestamp - now) < 5e6
          ? performance.timeOrigin * 1000
          : performance.timeOrigin * 1000 + now - data.timestamp - (data.duration ?? 0);
      }
      // After a stall of the page, stale audio is dropped rather than sent late (in Chromium,
      // whose timestamps are on the performance.now() clock, that can be told).
      if (this.epochOffset === performance.timeOrigin * 1000 && performance.now() * 1000 - data.timestamp > STALE_MICROS) {
        this.dropped += 1;
        return;
      }
      const encoder = this.encoder;
      if (!encoder || encoder.state === "closed") return;
      if (encoder.state === "unconfigured" || this.sampleRate !== data.sampleRate) {
        encoder.configure(this.config(data.sampleRate));
        this.sampleRate = data.sampleRate;
      }
      if (encoder.encodeQueueSize > 4) {
        this.dropped += 1;
        return;
      }
      if (data.numberOfChannels === 1) {
        encoder.encode(data);
      } else {
        const mono = firstChannel(data);
        encoder.encode(mono);
        mono.close();
      }
    } finally {
      data.close();
    }
  }

  output(chunk) {
    if (this.stopped || !this.started) return;
    const sequence = this.sequence;
    this.sequence = (this.sequence + 1) >>> 0;
    // Counted in the sequence all the same: the receiver sees the gap as a loss.
    if (!this.socket.isOpen || this.socket.bufferedAmount > MAX_BUFFERED) {
      this.dropped += 1;
      return;
    }
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    const timestampMicros = BigInt(Math.round(this.epochOffset + chunk.timestamp));
    this.socket.sendFrame({ codec: "opus", keyframe: true, streamId: this.streamId, sequence, timestampMicros }, payload);
    this.sent += 1;
    this.recent.push({ at: performance.now(), bytes: payload.byteLength + FRAME_HEADER });
    if (this.recent.length > 200) this.recent.shift();
  }

  /** Mutes the microphone (the track too) and tells the peer (stream.pause). */
  mute() {
    if (this.muted) return;
    this.muted = true;
    if (this.track) this.track.enabled = false;
    if (this.started && !this.stopped) this.socket.send({ type: "stream.pause", streamId: this.streamId });
  }

  unmute() {
    if (!this.muted) return;
    this.muted = false;
    if (this.track) this.track.enabled = true;
    this.freshEncoder();
    if (this.started && !this.stopped) this.socket.send({ type: "stream.resume", streamId: this.streamId });
  }

  /** Push-to-talk gate: no message to the peer, the packets just stop. */
  setTalking(talking) {
    if (this.talking === talking) return;
    this.talking = talking;
    if (talking) this.freshEncoder();
  }

  // After a pause the encoder must not finish a packet begun before it.
  freshEncoder() {
    if (this.encoder?.state === "configured") this.encoder.reset();
  }

  /** Stops capture. `announce`: send stream.stop (not when the broker already stopped the stream). */
  stop({ announce = true } = {}) {
    if (this.stopped) return;
    this.stopped = true;
    if (announce && this.started) this.socket.send({ type: "stream.stop", streamId: this.streamId });
    this.reader?.cancel().catch(() => {});
    if (this.worklet) {
      this.worklet.node.port.onmessage = null;
      this.worklet.context.close().catch(() => {});
    }
    for (const track of this.media?.getTracks() ?? []) track.stop();
    if (this.encoder && this.encoder.state !== "closed") this.encoder.close();
  }

  get active() {
    return this.started && !this.stopped;
  }

  /** `{sent, dropped, packetsPerSecond, kbps}` over the last second; kbps counts frame headers too. */
  stats() {
    const since = performance.now() - 1000;
    while (this.recent.length && this.recent[0].at < since) this.recent.shift();
    const bytes = this.recent.reduce((sum, packet) => sum + packet.bytes, 0);
    return { sent: this.sent, dropped: this.dropped, packetsPerSecond: this.recent.length, kbps: Math.round((bytes * 8) / 100) / 10 };
  }
}

function firstChannel(data) {
  const samples = new Float32Array(data.numberOfFrames);
  data.copyTo(samples, { planeIndex: 0, format: "f32-planar" });
  return new AudioData({ format: "f32-planar", sampleRate: data.sampleRate, numberOfFrames: data.numberOfFrames, numberOfChannels: 1, timestamp: data.timestamp, data: samples });
}

// ---- playing --------------------------------------------------------------------------------

export class VoicePlayer {
  /** One peer audio stream: `message` is its stream.start (owner, streamId, decoderConfig). */
  constructor(message, context = audioContext()) {
    this.owner = message.owner;
    this.streamId = message.streamId;
    const announced = message.decoderConfig ?? {};
    this.config = {
      codec: announced.codec ?? DECODER_CONFIG.codec,
      sampleRate: announced.sampleRate ?? DECODER_CONFIG.sampleRate,
      numberOfChannels: announced.numberOfChannels ?? DECODER_CONFIG.numberOfChannels,
    };
    if (announced.description) {
      try {
        this.config.description = Uint8Array.from(atob(announced.description), (c) => c.charCodeAt(0));
      } catch {
        // A broken description: Opus decodes without one.
      }
    }
    this.context = context;
    this.jitter = new JitterBuffer({ sampleRate: context.sampleRate });
    this.gain = context.createGain();
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 8192;
    this.analyser.smoothingTimeConstant = 0.3;
    this.gain.connect(this.analyser).connect(context.destination);
    this.decoder = null;
    this.failures = 0;
    this.pending = [];
    this.paused = false;
    this.closed = false;
    this.received = 0;
    this.played = 0;
    this.dropped = 0;
    this.waiting = 0;
    this.levels = [];
    this.latencies = [];
    this.depths = [];
    this.sources = new Set();
    // A context that stopped and starts again: the old schedule points into the past.
    this.onStateChange = () => this.jitter.reset();
    context.addEventListener("statechange", this.onStateChange);
  }

  /** One received frame of this stream (codec opus). */
  push(frame) {
    if (this.closed) return;
    this.received += 1;
    if (this.context.state !== "running") {
      // No sound allowed yet (autoplay): nothing to schedule against.
      this.waiting += 1;
      return;
    }
    const decoder = this.ensureDecoder();
    if (!decoder) return;
    if (decoder.decodeQueueSize > 8) {
      this.dropped += 1;
      return;
    }
    const timestamp = Number(frame.timestampMicros);
    this.pending.push({ timestamp, sequence: frame.sequence });
    if (this.pending.length > 50) this.pending.shift();
    decoder.decode(new EncodedAudioChunk({ type: "key", timestamp, data: frame.payload }));
  }

  ensureDecoder() {
    if (this.decoder && this.decoder.state !== "closed") return this.decoder;
    // A decoder that keeps failing (a config this browser refuses) is given up on.
    if (this.failures >= 3) return null;
    try {
      const decoder = new AudioDecoder({
        output: (audio) => this.decoded(audio),
        error: (error) => {
          this.failures += 1;
          console.warn("Tandem voice: decoder error", error.message);
        },
      });
      decoder.configure(this.config);
      this.decoder = decoder;
      this.pending = [];
      return decoder;
    } catch (error) {
      this.failures += 1;
      console.warn("Tandem voice: no decoder", error.message);
      return null;
    }
  }

  decoded(audio) {
    try {
      if (this.closed) return;
      // Outputs come in order; the capture time comes back as the timestamp.
      let index = this.pending.findIndex((entry) => entry.timestamp === audio.timestamp);
      if (index < 0) index = 0;
      const meta = this.pending[index];
      this.pending.splice(0, index + 1);
      if (!meta) return;
      const channels = planes(audio);
      const frames = audio.numberOfFrames;
      const buffer = this.context.createBuffer(channels.length, frames, audio.sampleRate);
      channels.forEach((samples, channel) => buffer.copyToChannel(samples, channel));
      let energy = 0;
      for (const sample of channels[0]) energy += sample * sample;
      const now = performance.now();
      this.levels.push({ at: now, energy: energy / frames });
      const duration = frames / audio.sampleRate;
      const placed = this.jitter.place(this.context.currentTime, meta.sequence, meta.timestamp, duration);
      if (placed.at === undefined) return;
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      source.connect(this.gain);
      source.onended = () => {
        this.sources.delete(source);
        source.disconnect();
      };
      source.start(placed.at);
      this.sources.add(source);
      this.played += 1;
      this.latencies.push({ at: now, value: this.epochMillis(placed.at) - meta.timestamp / 1000 });
      this.depths.push({ at: now, value: (placed.at + duration - this.context.currentTime) * 1000 });
    } finally {
      audio.close();
    }
  }

  /** When the audio clock's `time` reaches the speaker, in ms since the Unix epoch. */
  epochMillis(time) {
    const stamp = this.context.getOutputTimestamp?.();
    if (stamp && stamp.performanceTime > 0) return performance.timeOrigin + stamp.performanceTime + (time - stamp.contextTime) * 1000;
    const output = this.context.outputLatency || this.context.baseLatency || 0;
    return performance.timeOrigin + performance.now() + (time - this.context.currentTime + output) * 1000;
  }

  /** The peer paused (muted) its stream. */
  pause() {
    this.paused = true;
  }

  /** …and resumed: start a fresh schedule. */
  resume() {
    this.paused = false;
    this.jitter.reset();
  }

  /** Volume 0–1 (0 mutes the peer here only). */
  set volume(value) {
    this.gain.gain.value = value;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.context.removeEventListener("statechange", this.onStateChange);
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    for (const source of this.sources) {
      try {
        source.stop();
      } catch {
        // Never started.
      }
    }
    this.sources.clear();
    this.gain.disconnect();
    this.analyser.disconnect();
  }

  /** The loudest frequency at the output (Hz, 0 in silence), from an FFT with parabolic interpolation. */
  peakHz() {
    const bins = new Float32Array(this.analyser.frequencyBinCount);
    this.analyser.getFloatFrequencyData(bins);
    let best = 2;
    for (let index = 3; index < bins.length - 1; index += 1) if (bins[index] > bins[best]) best = index;
    if (!(bins[best] > -90)) return 0;
    const [left, middle, right] = [bins[best - 1], bins[best], bins[best + 1]];
    const curve = left - 2 * middle + right;
    const offset = curve < 0 ? (0.5 * (left - right)) / curve : 0;
    return ((best + offset) * this.context.sampleRate) / this.analyser.fftSize;
  }

  /**
   * `latencyMs`: capture → play (p50 of the last second; through the broker, and the
   * speaker's latency as the browser estimates it), `depthMs`: audio queued ahead of the
   * playhead (p50), `targetMs`, `level` (RMS of the last 200 ms, 0–1), `peakHz`, counts.
   */
  stats() {
    const now = performance.now();
    for (const list of [this.latencies, this.depths]) while (list.length && list[0].at < now - 1000) list.shift();
    while (this.levels.length && this.levels[0].at < now - 200) this.levels.shift();
    const energy = this.levels.reduce((sum, level) => sum + level.energy, 0) / Math.max(1, this.levels.length);
    const counts = this.jitter.counts;
    return {
      received: this.received, packets: this.played, lost: counts.lost, late: counts.late + counts.old,
      trimmed: counts.trimmed, restarts: counts.restarts, dropped: this.dropped, waiting: this.waiting,
      silenceMs: Math.round(this.jitter.silence * 1000),
      latencyMs: median(this.latencies), depthMs: median(this.depths), targetMs: Math.round(this.jitter.target * 1000),
      level: Math.round(Math.sqrt(energy) * 1000) / 1000, peakHz: Math.round(this.peakHz()),
      suspended: this.context.state !== "running", failed: this.failures >= 3,
    };
  }
}

/** The decoded channels as Float32Arrays, whatever sample format the decoder chose. */
function planes(audio) {
  const frames = audio.numberOfFrames;
  const count = audio.numberOfChannels;
  if (audio.format === "f32-planar") {
    return Array.from({ length: count }, (_, planeIndex) => {
      const samples = new Float32Array(frames);
      audio.copyTo(samples, { planeIndex });
      return samples;
    });
  }
  try {
    return Array.from({ length: count }, (_, planeIndex) => {
      const samples = new Float32Array(frames);
      audio.copyTo(samples, { planeIndex, format: "f32-planar" });
      return samples;
    });
  } catch {
    // Browsers without format conversion: interleaved f32 or s16 by hand.
    const interleaved = audio.format.startsWith("s16") ? new Int16Array(frames * count) : new Float32Array(frames * count);
    audio.copyTo(interleaved, { planeIndex: 0 });
    const scale = interleaved instanceof Int16Array ? 1 / 32768 : 1;
    return Array.from({ length: count }, (_, channel) => Float32Array.from({ length: frames }, (_, index) => interleaved[index * count + channel] * scale));
  }
}

function median(list) {
  if (list.length === 0) return null;
  const values = list.map((entry) => entry.value).sort((a, b) => a - b);
  return Math.round(values[Math.floor(values.length / 2)]);
}
