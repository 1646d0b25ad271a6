// Reading a .tdrec recording (protocol/README.md §19): its entries in recording order, the
// streams they carry with what each stream.start announced (§5.9), and where a player has to
// start decoding to show a given moment of a video stream (its last keyframe, §4.1).
import { isVisualCodec } from "./codecs.js";
import { decodeControl, decodeFrame } from "./protocol.js";

const MAGIC = [0x54, 0x44, 0x52, 0x45, 0x43, 0x01, 0x0d, 0x0a];
// Entries a newer peer may have recorded (§4, §10): skipped, not a damaged file.
const SKIPPABLE = new Set(["unknown-codec", "unknown-type", "invalid-field"]);

export const streamKey = (owner, streamId) => `${owner}:${streamId}`;

/**
 * Splits a recording into entries: {kind, owner, time (µs), key, frame | message}; `key`
 * names the stream an entry belongs to (null for none). Returns {entries, skipped}.
 */
export function parseRecording(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || MAGIC.some((byte, i) => bytes[i] !== byte)) throw new Error("This is not a Tandem recording.");
  const view = new DataView(buffer);
  const decoder = new TextDecoder();
  const entries = [];
  let skipped = 0;
  let offset = 8;
  while (offset < bytes.length) {
    if (offset + 14 > bytes.length) throw new Error("The recording ends in the middle of an entry.");
    const kind = view.getUint8(offset);
    const owner = view.getUint8(offset + 1) === 0 ? "agent" : "customer";
    const time = Number(view.getBigUint64(offset + 2));
    const length = view.getUint32(offset + 10);
    const start = offset + 14;
    if (start + length > bytes.length || (kind !== 1 && kind !== 2)) throw new Error("The recording is damaged.");
    const payload = bytes.subarray(start, start + length);
    offset = start + length;
    try {
      if (kind === 1) {
        const frame = decodeFrame(payload);
        entries.push({ kind: "media", owner, time, key: streamKey(owner, frame.streamId), frame });
      } else {
        const message = decodeControl(decoder.decode(payload));
        entries.push({ kind: "control", owner, time, key: controlKey(message, owner), message });
      }
    } catch (error) {
      if (!SKIPPABLE.has(error.code)) throw new Error(`The recording is damaged (${error.message}).`);
      skipped += 1;
    }
  }
  return { entries, skipped };
}

function controlKey(message, owner) {
  if (message.streamId === undefined) return null;
  // stream.* carry the publisher as `owner` once relayed; the entry's owner is the sender.
  const publisher = message.owner ?? (message.type.startsWith("stream.") ? owner : undefined);
  return publisher === undefined ? null : streamKey(publisher, message.streamId);
}

/**
 * The streams of a recording, in order of appearance: key → {key, owner, streamId, codec,
 * source, width, height, start (the first stream.start, or null), visual, audio}.
 */
export function streamsOf(entries) {
  const streams = new Map();
  for (const entry of entries) {
    const start = entry.kind === "control" && entry.message.type === "stream.start" ? entry.message : null;
    if (!start && entry.kind !== "media") continue;
    let stream = streams.get(entry.key);
    if (!stream) {
      const [owner, id] = entry.key.split(":");
      stream = { key: entry.key, owner, streamId: Number(id), codec: null, source: null, width: 0, height: 0, start: null };
      streams.set(entry.key, stream);
    }
    if (start) {
      Object.assign(stream, { codec: start.codec, source: start.source, width: start.width, height: start.height });
      stream.start ??= start;
    } else {
      stream.codec ??= entry.frame.codec;
    }
  }
  for (const stream of streams.values()) {
    stream.visual = isVisualCodec(stream.codec);
    stream.audio = stream.codec === "opus";
  }
  return streams;
}

/** "customer camera 1 · vp8 320×240". */
export function describeStream(stream) {
  const size = stream.width > 0 ? ` ${stream.width}×${stream.height}` : "";
  return `${stream.owner} ${stream.source ?? "stream"} ${stream.streamId} · ${stream.codec}${size}`;
}

/**
 * How to show stream `key` as it was just before entry `target`. The picture there is the
 * last frame, or the frozen one while a freeze holds (§5.11); a video decoder must start at
 * the keyframe before it. Returns {from, start}: decode entries from..target-1 in order
 * (from === target: nothing to show yet); `start`: the stream.start in force at `from`, or null.
 */
export function catchUpPlan(entries, key, target) {
  let last = -1;
  let frozen = null;
  let frozenAt = -1;
  for (let i = 0; i < target; i += 1) {
    const entry = entries[i];
    if (entry.key !== key) continue;
    if (entry.kind === "media") {
      last = i;
      continue;
    }
    const message = entry.message;
    if (message.type === "freeze") [frozen, frozenAt] = [message.sequence, i];
    else if (message.type === "unfreeze") frozen = null;
    else if (message.type === "overlay.snapshot" && !message.continued) [frozen, frozenAt] = [message.frozenSequence ?? null, i];
  }
  let anchor = last;
  if (frozen !== null) {
    for (let i = frozenAt; i >= 0; i -= 1) {
      const entry = entries[i];
      if (entry.kind === "media" && entry.key === key && entry.frame.sequence === frozen) {
        anchor = i;
        break;
      }
    }
  }
  let from = anchor;
  while (from >= 0 && !(entries[from].kind === "media" && entries[from].key === key && entries[from].frame.keyframe)) from -= 1;
  if (from < 0) from = target;
  let start = null;
  for (let i = from - 1; i >= 0 && start === null; i -= 1) {
    const entry = entries[i];
    if (entry.key === key && entry.kind === "control" && entry.message.type === "stream.start") start = entry.message;
  }
  return { from, start };
}
