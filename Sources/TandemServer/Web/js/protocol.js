// Tandem wire protocol v1 for browsers, written from protocol/README.md.
// Binary media frames (§4) and JSON control messages (§5); errors use the identifiers of §4 and §8.

export const SUBPROTOCOL = "tandem.v1";
export const VERSION = 1;
export const WS_PATH = "/v1/ws";
/** §9: the diagnostic echo WebSocket (every message comes back unchanged). */
export const ECHO_PATH = "/v1/echo";
export const HEADER_LENGTH = 24;
/** §4.1: codec byte by name. `opus` is audio, the others video (images included). */
export const CODECS = { jpeg: 1, png: 2, webp: 3, h264: 4, vp8: 5, vp9: 6, av1: 7, opus: 8 };
const CODEC_NAMES = Object.fromEntries(Object.entries(CODECS).map(([name, id]) => [id, name]));

/** A decoding failure with the protocol's identifier in `code`. */
export class ProtocolError extends Error {
  constructor(code, detail) {
    super(detail ? `${code}: ${detail}` : code);
    this.code = code;
  }
}

// ---- §4 binary media frames -------------------------------------------------------------

/**
 * Encodes a frame: `{codec, keyframe, streamId, sequence, timestampMicros}` and the payload
 * (Uint8Array or ArrayBuffer). Returns an ArrayBuffer ready for WebSocket.send.
 */
export function encodeFrame(header, payload) {
  const body = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  const codec = CODECS[header.codec];
  if (!codec) throw new ProtocolError("unknown-codec", String(header.codec));
  const buffer = new ArrayBuffer(HEADER_LENGTH + body.byteLength);
  const view = new DataView(buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, HEADER_LENGTH);
  view.setUint8(2, 1);
  view.setUint8(3, header.keyframe ? 0x01 : 0x00);
  view.setUint8(4, codec);
  view.setUint8(5, 0);
  view.setUint16(6, header.streamId);
  view.setUint32(8, header.sequence >>> 0);
  view.setBigUint64(12, BigInt(header.timestampMicros));
  view.setUint32(20, body.byteLength);
  new Uint8Array(buffer, HEADER_LENGTH).set(body);
  return buffer;
}

/**
 * Decodes one binary message. Returns the header fields and `payload` (a view, not a copy).
 * A codec byte this page does not know throws `unknown-codec`: callers skip such frames (§4, §10).
 */
export function decodeFrame(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < HEADER_LENGTH) throw new ProtocolError("truncated-frame", `${bytes.byteLength} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== VERSION) throw new ProtocolError("unsupported-frame-version");
  const headerLength = view.getUint8(1);
  if (headerLength < HEADER_LENGTH) throw new ProtocolError("bad-header-length");
  if (view.getUint8(2) !== 1) throw new ProtocolError("unknown-frame-kind");
  const codec = CODEC_NAMES[view.getUint8(4)];
  if (!codec) throw new ProtocolError("unknown-codec", String(view.getUint8(4)));
  if (bytes.byteLength < headerLength) throw new ProtocolError("truncated-frame");
  const payloadLength = view.getUint32(20);
  const expected = headerLength + payloadLength;
  if (bytes.byteLength < expected) throw new ProtocolError("truncated-frame");
  if (bytes.byteLength > expected) throw new ProtocolError("payload-length-mismatch");
  return {
    codec,
    keyframe: (view.getUint8(3) & 0x01) !== 0,
    streamId: view.getUint16(6),
    sequence: view.getUint32(8),
    timestampMicros: view.getBigUint64(12),
    payload: bytes.subarray(headerLength, expected),
  };
}

// ---- §5 control messages ----------------------------------------------------------------

const ROLE = ["agent", "customer"];
const MODE = ["screen", "camera"];
const SOURCE = ["screen", "camera", "microphone"];
const OUTCOME = ["resolved", "unresolved", "escalated", "abandoned"];
const REASON = ["agent-ended", "ended-via-api", "agent-left", "customer-left", "expired", "protocol-violation",
  "slow-consumer", "access-revoked", "broker-shutdown", "broker-crash", "broker-lost", "transfer-unanswered"];
const TIER = ["basic", "standard", "premium"];
/** §20.1: an agent's state on the floor; an agent chooses available or away itself. */
const AGENT_STATE = ["available", "busy", "away", "offline"];
const QUEUE_KIND = ["customer", "transfer"];
const COUNT = { int: [0, Number.MAX_SAFE_INTEGER] };
/** §20.1: line and skill names (1–32 characters a-z, 0-9, -). */
const NAMES = { array: { string: true } };
const STREAM_ID = { int: [0, 65535] };
const SEQUENCE = { int: [0, 4294967295] };
const POINTS = { array: { array: "number", length: 2 } };
/** §5.1: codec names a client decodes; names this page does not know are kept, not refused. */
const CODEC_LIST = { array: { string: true, minLength: 1, maxLength: 16 }, maxItems: 16 };
/** §5.15: an affine map of normalised coordinates, [a, b, c, d, e, f]. */
const MAP = { array: "number", length: 6 };
const EPOCH = { int: [1, 4294967295] };
const SHAPE = {
  object: {
    id: { string: true, required: true }, kind: { enum: ["stroke", "arrow", "rect", "ellipse", "text", "pointer"], required: true },
    color: { string: true, required: true }, width: { number: true, required: true }, points: { ...POINTS, required: true },
    text: { string: true }, ttlMs: { int: [0, Number.MAX_SAFE_INTEGER] }, author: { enum: ROLE },
    anchor: { object: { epoch: { ...EPOCH, required: true }, m: { ...MAP, required: true } } },
  },
};

/** Members of every message type: `required`, and the kind of value. */
export const MESSAGES = {
  "hello": {
    protocol: { int: [0, Number.MAX_SAFE_INTEGER], required: true }, role: { enum: ROLE, required: true },
    client: { string: true }, token: { string: true }, code: { string: true }, key: { string: true }, resume: { string: true },
    start: { object: { ticket: { string: true, required: true }, mode: { enum: MODE, required: true }, ttlSeconds: { int: [0, Number.MAX_SAFE_INTEGER] }, record: { boolean: true } } },
    queue: {
      object: {
        ticket: { string: true, required: true }, tier: { enum: TIER, required: true }, mode: { enum: MODE, required: true }, line: { string: true },
        expires: { int: [0, Number.MAX_SAFE_INTEGER] }, signature: { string: true }, skills: NAMES,
      },
    },
    // §20.2: `offer` accepts exactly that offer's entry.
    take: { object: { line: { string: true }, record: { boolean: true }, offer: { string: true } } },
    watch: { object: { sessionId: { string: true, required: true }, participate: { boolean: true, required: true } } },
    codecs: CODEC_LIST,
    // §20.1: a presence connection; §20.6: a floor connection (no members yet).
    presence: { object: { state: { enum: AGENT_STATE, required: true }, lines: NAMES, skills: NAMES, maxSessions: { int: [1, 8] } } },
    floor: { object: {} },
  },
  "session.created": {
    sessionId: { string: true, required: true }, ticket: { string: true, required: true }, mode: { enum: MODE, required: true },
    joinCode: { string: true, required: true }, joinUrl: { string: true, required: true }, expiresAt: { date: true, required: true },
    resumeToken: { string: true }, recording: { boolean: true },
  },
  "session.joined": {
    sessionId: { string: true, required: true }, ticket: { string: true, required: true }, mode: { enum: MODE, required: true },
    agent: { string: true, required: true }, resumeToken: { string: true }, recording: { boolean: true }, codecs: CODEC_LIST,
  },
  "peer.joined": { role: { enum: ROLE, required: true }, client: { string: true }, codecs: CODEC_LIST },
  "chat": { text: { string: true, required: true }, from: { enum: ROLE }, supervisor: { string: true } },
  "session.end": { outcome: { enum: OUTCOME }, note: { string: true } },
  "session.ended": {
    sessionId: { string: true, required: true }, reason: { enum: REASON, required: true }, outcome: { enum: OUTCOME },
    // §5.16: the customer's copy of a session it joined carries the post-session survey.
    survey: { object: { token: { string: true, required: true }, expiresAt: { date: true, required: true }, nps: { boolean: true, required: true } } },
  },
  "error": { code: { string: true, required: true }, message: { string: true, required: true }, retryAfter: { int: [0, 86400] }, redirect: { string: true } },
  "stream.start": {
    streamId: { ...STREAM_ID, required: true }, source: { enum: SOURCE, required: true }, codec: { enum: Object.keys(CODECS), required: true },
    width: { int: [0, 65535], required: true }, height: { int: [0, 65535], required: true }, fps: { number: true, required: true },
    decoderConfig: {
      object: {
        codec: { string: true, required: true }, description: { string: true },
        sampleRate: { int: [0, Number.MAX_SAFE_INTEGER] }, numberOfChannels: { int: [0, Number.MAX_SAFE_INTEGER] },
      },
    },
    owner: { enum: ROLE },
  },
  "stream.stop": { streamId: { ...STREAM_ID, required: true }, owner: { enum: ROLE } },
  "stream.pause": { streamId: { ...STREAM_ID, required: true }, owner: { enum: ROLE } },
  "stream.resume": { streamId: { ...STREAM_ID, required: true }, owner: { enum: ROLE } },
  "stream.control": {
    streamId: { ...STREAM_ID, required: true }, action: { enum: ["pause", "resume", "keyframe", "quality"], required: true },
    fps: { number: true }, quality: { number: true }, bitrate: { int: [0, Number.MAX_SAFE_INTEGER] }, origin: { enum: ["agent", "customer", "broker"] },
  },
  "annotation": {
    op: { enum: ["add", "append", "remove", "undo", "clear"], required: true }, owner: { enum: ROLE, required: true },
    streamId: { ...STREAM_ID, required: true }, shape: SHAPE, id: { string: true }, points: POINTS, author: { enum: ROLE },
  },
  "overlay.snapshot": {
    owner: { enum: ROLE, required: true }, streamId: { ...STREAM_ID, required: true },
    shapes: { array: SHAPE, required: true }, frozenSequence: SEQUENCE, continued: { boolean: true },
  },
  "freeze": { owner: { enum: ROLE, required: true }, streamId: { ...STREAM_ID, required: true }, sequence: { ...SEQUENCE, required: true }, author: { enum: ROLE } },
  "unfreeze": { owner: { enum: ROLE, required: true }, streamId: { ...STREAM_ID, required: true }, author: { enum: ROLE } },
  "consent": { granted: { boolean: true, required: true }, source: { enum: SOURCE }, recording: { boolean: true } },
  "voice": { enabled: { boolean: true, required: true } },
  "track": {
    streamId: { ...STREAM_ID, required: true }, sequence: { ...SEQUENCE, required: true }, epoch: { ...EPOCH, required: true },
    state: { enum: ["tracking", "lost"], required: true }, m: { ...MAP, required: true }, owner: { enum: ROLE },
  },
  "session.resumed": {
    sessionId: { string: true, required: true }, role: { enum: ROLE, required: true }, ticket: { string: true, required: true },
    mode: { enum: MODE, required: true }, agent: { string: true, required: true }, peerPresent: { boolean: true, required: true },
    resumeToken: { string: true, required: true }, codecs: CODEC_LIST,
  },
  "peer.away": { role: { enum: ROLE, required: true }, until: { date: true, required: true } },
  "peer.back": { role: { enum: ROLE, required: true }, codecs: CODEC_LIST },
  "queue.status": {
    position: { int: [1, Number.MAX_SAFE_INTEGER], required: true }, line: { string: true, required: true },
    tier: { enum: TIER, required: true }, waitedSeconds: { int: [0, Number.MAX_SAFE_INTEGER], required: true },
    estimatedWaitSeconds: { int: [0, 86400] }, callbackOffered: { boolean: true },
  },
  "session.assigned": {
    sessionId: { string: true, required: true }, ticket: { string: true, required: true }, mode: { enum: MODE, required: true },
    line: { string: true, required: true }, tier: { enum: TIER, required: true }, waitedSeconds: { int: [0, Number.MAX_SAFE_INTEGER], required: true },
    customerPresent: { boolean: true, required: true }, transferredFrom: { string: true }, note: { string: true },
    resumeToken: { string: true, required: true }, codecs: CODEC_LIST,
  },
  "session.watching": {
    sessionId: { string: true, required: true }, ticket: { string: true, required: true }, mode: { enum: MODE, required: true },
    agent: { string: true, required: true }, customerPresent: { boolean: true, required: true }, participate: { boolean: true, required: true },
  },
  "session.presence": {
    present: {
      array: { object: { name: { string: true, required: true }, role: { enum: ["agent", "customer", "supervisor"], required: true }, participating: { boolean: true } } },
      required: true,
    },
  },
  "session.transfer": { line: { string: true }, agent: { string: true }, note: { string: true }, reason: { string: true } },
  "session.transferred": {
    sessionId: { string: true, required: true }, state: { enum: ["pending", "completed"], required: true }, from: { string: true, required: true },
    line: { string: true }, toAgent: { string: true }, agent: { string: true }, until: { date: true }, codecs: CODEC_LIST,
  },
  // §20.1 presence
  "presence.set": { state: { enum: AGENT_STATE, required: true }, lines: NAMES, skills: NAMES, maxSessions: { int: [1, 8] } },
  "presence.status": {
    name: { string: true, required: true }, state: { enum: AGENT_STATE, required: true }, lines: { ...NAMES, required: true },
    skills: { ...NAMES, required: true }, maxSessions: { ...COUNT, required: true }, sessions: { ...COUNT, required: true },
    transferReasons: { ...NAMES, required: true }, reason: { string: true },
  },
  // §20.2 offers
  "queue.offer": {
    offerId: { string: true, required: true }, queueId: { string: true, required: true }, kind: { enum: QUEUE_KIND, required: true },
    ticket: { string: true, required: true }, tier: { enum: TIER, required: true }, line: { string: true, required: true },
    mode: { enum: MODE, required: true }, skills: { ...NAMES, required: true }, waitedSeconds: { ...COUNT, required: true },
    until: { date: true, required: true }, from: { string: true }, note: { string: true },
  },
  "queue.decline": { offerId: { string: true, required: true } },
  "queue.withdrawn": { offerId: { string: true, required: true }, reason: { enum: ["customer-left", "taken", "overflowed"], required: true } },
  // §20.4 callbacks
  "queue.callback": { message: { string: true, required: true }, contact: { string: true } },
  "queue.callback-recorded": { queueId: { string: true, required: true }, ticket: { string: true, required: true } },
  // §20.5
  "supervisor.request": { note: { string: true } },
  // §20.6 the floor
  "floor.state": {
    at: { date: true, required: true }, targetSeconds: { ...COUNT, required: true }, serviceLevelTarget: { number: true, required: true },
    queues: {
      array: {
        object: {
          line: { string: true, required: true }, tier: { enum: TIER, required: true }, waiting: { ...COUNT, required: true },
          oldestWaitSeconds: { ...COUNT, required: true },
        },
      },
      required: true,
    },
    waiting: {
      array: {
        object: {
          queueId: { string: true, required: true }, kind: { enum: QUEUE_KIND, required: true }, ticket: { string: true, required: true },
          tier: { enum: TIER, required: true }, line: { string: true, required: true }, skills: { ...NAMES, required: true },
          waitedSeconds: { ...COUNT, required: true }, offeredTo: { string: true },
        },
      },
      required: true,
    },
    agents: {
      array: {
        object: {
          name: { string: true, required: true }, state: { enum: AGENT_STATE, required: true }, sessions: { ...COUNT, required: true },
          maxSessions: { ...COUNT, required: true }, lines: { ...NAMES, required: true }, skills: { ...NAMES, required: true },
          since: { date: true, required: true },
        },
      },
      required: true,
    },
    sessions: {
      array: {
        object: {
          sessionId: { string: true, required: true }, ticket: { string: true, required: true }, agent: { string: true, required: true },
          tier: { enum: TIER }, line: { string: true }, startedAt: { date: true, required: true }, customerPresent: { boolean: true, required: true },
          supervisors: { ...NAMES, required: true }, helpRequested: { object: { note: { string: true }, at: { date: true, required: true } } },
        },
      },
      required: true,
    },
    today: {
      object: {
        answered: { ...COUNT, required: true }, answeredWithinTarget: { ...COUNT, required: true }, abandoned: { ...COUNT, required: true },
        callbacks: { ...COUNT, required: true }, serviceLevel: { number: true }, medianWaitSeconds: { number: true },
        surveys: { ...COUNT, required: true }, csat: { number: true }, fcr: { number: true },
        // A count per outcome: any names (§7), checked as an object only.
        outcomes: { object: {}, required: true },
        byHour: { array: { object: { answered: { ...COUNT, required: true }, withinTarget: { ...COUNT, required: true } } }, required: true },
        waits: { array: COUNT, required: true },
      },
    },
  },
};

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function check(value, spec, path) {
  const fail = () => { throw new ProtocolError("invalid-field", path); };
  if (spec === "number") { if (typeof value !== "number" || !Number.isFinite(value)) fail(); return; }
  if (spec.enum) { if (!spec.enum.includes(value)) fail(); return; }
  if (spec.string) {
    if (typeof value !== "string") fail();
    if ((spec.minLength !== undefined && value.length < spec.minLength) || (spec.maxLength !== undefined && value.length > spec.maxLength)) fail();
    return;
  }
  if (spec.boolean) { if (typeof value !== "boolean") fail(); return; }
  if (spec.number) { if (typeof value !== "number" || !Number.isFinite(value)) fail(); return; }
  if (spec.date) { if (typeof value !== "string" || !RFC3339.test(value) || Number.isNaN(Date.parse(value))) fail(); return; }
  if (spec.int) {
    if (!Number.isInteger(value) || value < spec.int[0] || value > spec.int[1]) fail();
    return;
  }
  if (spec.array) {
    if (!Array.isArray(value) || (spec.length !== undefined && value.length !== spec.length)) fail();
    if (spec.maxItems !== undefined && value.length > spec.maxItems) fail();
    value.forEach((item, index) => check(item, spec.array, `${path}.${index}`));
    return;
  }
  if (spec.object) { checkMembers(value, spec.object, path); return; }
}

function checkMembers(object, members, path) {
  if (typeof object !== "object" || object === null || Array.isArray(object)) throw new ProtocolError("invalid-field", path);
  for (const [name, spec] of Object.entries(members)) {
    const value = object[name];
    if (value === undefined || value === null) {
      if (spec.required) throw new ProtocolError("invalid-field", path ? `${path}.${name}` : name);
      continue;
    }
    check(value, spec, path ? `${path}.${name}` : name);
  }
}

/** Parses and validates one control message; throws ProtocolError (§5, §8). */
export function decodeControl(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    throw new ProtocolError("malformed-message");
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) throw new ProtocolError("malformed-message");
  if (typeof message.type !== "string") throw new ProtocolError("invalid-field", "type");
  const members = MESSAGES[message.type];
  if (!members) throw new ProtocolError("unknown-type", message.type);
  checkMembers(message, members, "");
  return message;
}

/** The canonical text of a message (§5): sorted keys, no white space, nulls left out. */
export function encodeControl(message) {
  return JSON.stringify(canonical(message));
}

function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    const sorted = {};
    for (const key of Object.keys(value).sort()) {
      if (value[key] !== undefined && value[key] !== null) sorted[key] = canonical(value[key]);
    }
    return sorted;
  }
  return value;
}

// ---- §6 close codes, as customers and agents should read them ----------------------------

export const CLOSE_MESSAGES = {
  1000: "The session has ended.",
  1001: "The support service is restarting. Please try again in a minute.",
  1002: "The connection broke the WebSocket protocol.",
  1007: "The connection sent text that is not UTF-8.",
  1009: "A message was too large for the service.",
  1011: "The support service had a problem. Please try again.",
  1013: "Too many join codes are waiting to be used. Please try again in a few minutes.",
  4400: "The service did not understand this page's request.",
  4401: "Your sign-in is missing, unknown or revoked.",
  4403: "You are not allowed to do this.",
  4404: "This code is not valid. Please check it with your support agent.",
  4408: "The connection timed out. Please reload the page.",
  4409: "This code was already used. Ask your support agent for a new one.",
  4410: "This code has expired. Ask your support agent for a new one.",
  4411: "The session could not be resumed: it has ended.",
  4412: "This session was opened in another window.",
  4413: "The connection was idle for too long.",
  4429: "Too many messages were sent too quickly.",
  4421: "This code belongs to another support server; taking you there…",
  4430: "Too many attempts came from your network or reached this service lately. Please wait a few minutes, then try again.",
  4431: "Your network already has the most places in the queue it may hold. Please wait in the window you already opened.",
  4432: "This help link is not valid or has expired. Please ask your helpdesk for a new one.",
  4426: "This page is out of date. Please reload it.",
  4503: "Your connection is too slow to keep up.",
  4204: "Nobody is waiting in that line.",
  4302: "You handed the session over.",
  4415: "There is no such live session.",
};
