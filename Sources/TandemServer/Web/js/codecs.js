// Which codecs this browser decodes and encodes (protocol/README.md §4.1, §5.1): the list a
// page puts in its hello, the peer's list as the broker relays it, and the choice of the
// video codec to publish. Nothing here throws: a browser without WebCodecs shows images.

/** What every client decodes, and all an old client (one that sends no list) decodes. */
export const IMAGE_CODEC_NAMES = ["jpeg", "png", "webp"];
/** Video codecs in the order a publisher prefers them: VP8 is the cheapest to encode in software. */
export const VIDEO_PREFERENCE = ["vp8", "h264", "vp9", "av1"];
/** WebCodecs codec strings (§5.9 `decoderConfig.codec`), for probing and for streams without one. */
export const CODEC_STRINGS = { vp8: "vp8", vp9: "vp09.00.10.08", h264: "avc1.42E01F", av1: "av01.0.04M.08" };
const OPUS = { codec: "opus", sampleRate: 48000, numberOfChannels: 1 };
// §5.1 caps the list at 16 names; ours has at most 8.
const MAX_CODECS = 16;
const PROBE_MS = 2000;
// Encoder probes are the same for every stream of the page: ask each codec once.
const encoderProbes = new Map();

export const isVideoCodec = (name) => Object.hasOwn(CODEC_STRINGS, name);
/** A codec a FrameView shows: an image or a video codec, not audio (opus). */
export const isVisualCodec = (name) => IMAGE_CODEC_NAMES.includes(name) || isVideoCodec(name);

/** Resolves to `fallback` instead of waiting on a probe that never answers. */
function within(promise, fallback) {
  return Promise.race([promise.catch(() => fallback), new Promise((resolve) => setTimeout(() => resolve(fallback), PROBE_MS))]);
}

async function supported(Codec, config) {
  if (typeof Codec?.isConfigSupported !== "function") return false;
  return within(Codec.isConfigSupported(config).then((result) => result.supported === true), false);
}

/** The codec names this browser decodes, for `hello.codecs` (§5.1). */
export async function decodableCodecs() {
  const names = [...IMAGE_CODEC_NAMES];
  try {
    const video = await Promise.all(VIDEO_PREFERENCE.map((name) => supported(globalThis.VideoDecoder, { codec: CODEC_STRINGS[name] })));
    VIDEO_PREFERENCE.forEach((name, index) => video[index] && names.push(name));
    if (await supported(globalThis.AudioDecoder, OPUS)) names.push("opus");
  } catch (error) {
    console.warn("Tandem: codec probe failed; offering images only", error);
  }
  return names.slice(0, MAX_CODECS);
}

/**
 * The peer's codec list from a broker message (session.joined, peer.joined, session.resumed,
 * session.transferred): the names, or null when the message has none.
 */
export function codecsOf(message) {
  if (!Array.isArray(message?.codecs)) return null;
  return message.codecs.filter((name) => typeof name === "string").slice(0, MAX_CODECS);
}

/** `?video=` / `#video=`: a codec a test or benchmark forces (jpeg, vp8, vp9, h264, av1), else null. */
export function forcedCodec(value) {
  return value === "jpeg" || isVideoCodec(value) ? value : null;
}

/** The encoder configuration a VideoSender starts from; sizes and rates change later. */
export function encoderConfig(codec, { width = 1280, height = 720, bitrate = 1_000_000, framerate = 15, bitrateMode = "variable" } = {}) {
  const config = { codec: CODEC_STRINGS[codec], width, height, bitrate, framerate, latencyMode: "realtime" };
  if (bitrateMode) config.bitrateMode = bitrateMode;
  if (codec === "h264") config.avc = { format: "annexb" };
  return config;
}

/** Whether this browser encodes `codec`; resolves to the bitrate mode it accepts, or null. */
function encodable(codec) {
  if (!encoderProbes.has(codec)) {
    encoderProbes.set(codec, (async () => {
      if (typeof globalThis.VideoEncoder !== "function" || typeof globalThis.VideoFrame !== "function") return null;
      if (await supported(VideoEncoder, encoderConfig(codec))) return "variable";
      // Some encoders refuse the bitrate mode rather than the codec: try the default one.
      if (await supported(VideoEncoder, encoderConfig(codec, { bitrateMode: null }))) return "";
      return null;
    })());
  }
  return encoderProbes.get(codec);
}

/**
 * The video codec to publish to a peer that decodes `peerCodecs` (null: an old client, images
 * only): `forced` if possible, else the first of VIDEO_PREFERENCE that both sides handle.
 * Resolves to {codec, bitrateMode} or null for JPEG. `exclude`: codecs whose encoder failed.
 */
export async function chooseVideoCodec(peerCodecs, { forced = null, exclude = [] } = {}) {
  if (forced === "jpeg" || !peerCodecs) return null;
  const candidates = VIDEO_PREFERENCE.filter((name) => peerCodecs.includes(name) && !exclude.includes(name));
  if (forced && candidates.includes(forced)) candidates.unshift(forced);
  else if (forced) console.warn(`Tandem: video=${forced} is not possible with this peer or browser; choosing another codec`);
  for (const codec of candidates) {
    const bitrateMode = await encodable(codec);
    if (bitrateMode !== null) return { codec, bitrateMode: bitrateMode || null };
  }
  return null;
}
