// The agent console, /agent#token=…&ticket=…&mode=…: start a session, watch the customer's
// stream, draw on it, freeze, chat, share back, end with an outcome.
import { ChatPanel } from "./chat.js";
import { codecsOf, decodableCodecs, forcedCodec, isVisualCodec } from "./codecs.js";
import { TandemSocket } from "./connection.js";
import { FrameView } from "./frame-view.js";
import { anchoredPoints, applyMap, invertMap } from "./overlay.js";
import { LatencyControl } from "./latency-control.js";
import { Publisher } from "./publisher.js";
import { Resumer } from "./resume.js";
import { attachVoice } from "./voice-ui.js";
import { clearStats, showStats } from "./stats.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));
const token = params.get("token");
// The console token must not stay in the address bar or the history.
history.replaceState(null, "", location.pathname);
// #video=jpeg|vp8|vp9|h264|av1 forces what the console shares back (tests and benchmarks).
const VIDEO = forcedCodec(params.get("video"));
// What this browser decodes goes in every hello (§5.1): the customer then sends video it can show.
const CODECS = await decodableCodecs();

const view = new FrameView($("customer-view"), $("customer-overlay"), {
  onNeedKeyframe: () => viewing !== null && socket?.send({ type: "stream.control", streamId: viewing, action: "keyframe" }),
});
let socket = null;
let created = null;
let ended = false;
let viewing = null;
// What the customer's stream is (stream.start), for the statistics; null once it stopped.
let viewingSource = null;
let publisher = null;
// What the customer's client decodes (§5.1); null: an old client, or not known yet (JPEG).
let peerCodecs = null;
let shapeCounter = 0;
let received = 0;
const resumer = new Resumer("console");
// "auto" quality: asks the customer's publisher for less when pictures fall behind (§5.9).
const latencyControl = new LatencyControl();
const CLIENT = "tandem-web-console/1";

function setState(state, text) {
  document.body.dataset.state = state;
  if (text) $("status").textContent = text;
}

const chat = new ChatPanel($("chat"), (text) => {
  socket?.send({ type: "chat", text });
  return socket?.isOpen ?? false;
});
const voice = attachVoice("agent", { socket: () => socket, container: $("voice"), onNote: (text) => chat.note(text) });

function start(ticket, mode) {
  const ttl = Number(params.get("ttl")) || undefined;
  const record = params.get("record") === "1" || undefined;
  connect({ role: "agent", token, client: CLIENT, codecs: CODECS, start: { ticket, mode, ttlSeconds: ttl, record } });
}

function connect(hello) {
  $("start").hidden = true;
  socket = new TandemSocket(
    hello,
    {
      onControl: handle,
      onFrame(frame) {
        if (voice.onFrame(frame)) return;
        if (frame.streamId !== viewing) return;
        received += 1;
        view.showFrame(frame.sequence, frame);
      },
      onClose({ message, final }) {
        if (ended) return;
        if (!final && resumer.schedule(() => socket.reconnect({ role: "agent", resume: resumer.token, client: CLIENT, codecs: CODECS }))) {
          setState("reconnecting", "The connection was lost. Reconnecting…");
          return;
        }
        publisher?.stopTracks();
        voice.stop();
        resumer.forget();
        ended = true;
        setState(created ? "disconnected" : "refused", created ? `${message} The session has ended.` : message);
        $("workspace").hidden = true;
        $("end").hidden = true;
      },
    },
  );
  socket.connect();
}

/** The customer's codecs changed (§5.1): the share-back restarts if another codec fits better. */
function setPeerCodecs(codecs) {
  peerCodecs = codecs;
  publisher?.setPeerCodecs(codecs);
}

function handle(message) {
  // Voice (§5.14) first: the microphone's consent and audio streams are its own.
  if (voice.handle(message)) return;
  switch (message.type) {
    case "session.created":
      resumer.remember(message.resumeToken);
      created = message;
      $("join-code").textContent = message.joinCode;
      $("join-link").textContent = message.joinUrl;
      $("join-link").href = message.joinUrl;
      // The link carries a key after # (§3.1): it lets the customer in even while someone
      // floods the service with wrong codes. Send it to the customer only; opening it here uses it up.
      $("join-link").title = "Send this link to the customer only: it admits whoever opens it first.";
      $("expires").textContent = new Date(message.expiresAt).toLocaleTimeString();
      document.body.dataset.joinCode = message.joinCode;
      document.body.dataset.sessionId = message.sessionId;
      $("invite").hidden = false;
      $("end").hidden = false;
      setState("waiting", `Session ${message.sessionId} for ticket ${message.ticket}: give the customer the code or link.`);
      break;
    case "session.resumed":
      resumer.remember(message.resumeToken);
      resumer.done();
      created = created ?? { sessionId: message.sessionId, ticket: message.ticket, mode: message.mode };
      document.body.dataset.sessionId = message.sessionId;
      // The customer's codecs come only while it is connected; while it is away, keep what we knew.
      if (message.codecs || message.peerPresent) setPeerCodecs(codecsOf(message));
      publisher?.requestKeyframe();
      $("end").hidden = false;
      $("workspace").hidden = !message.peerPresent;
      $("chat").hidden = false;
      setState(message.peerPresent ? "live" : "waiting", `Reconnected to session ${message.sessionId} (ticket ${message.ticket}).`);
      break;
    case "peer.away":
      $("customer-state").textContent = "The customer's connection dropped; waiting up to a minute for it to come back…";
      chat.note($("customer-state").textContent);
      break;
    case "peer.back":
      $("customer-state").textContent = "The customer is back.";
      chat.note($("customer-state").textContent);
      if (message.codecs) setPeerCodecs(codecsOf(message));
      publisher?.requestKeyframe();
      break;
    case "peer.joined":
      setPeerCodecs(codecsOf(message));
      $("customer-state").textContent = "The customer joined and is being asked for consent.";
      $("workspace").hidden = false;
      $("chat").hidden = false;
      setState("live", `Customer connected on ticket ${created.ticket}.`);
      break;
    case "consent":
      document.body.dataset.consent = String(message.granted);
      $("customer-state").textContent = message.granted
        ? `The customer agreed to share their ${message.source ?? created.mode}${message.recording === true ? " and to the recording" : message.recording === false ? " (not recorded)" : ""}.`
        : "The customer declined to share (or stopped): no picture will arrive. You can still chat.";
      chat.note($("customer-state").textContent);
      break;
    case "stream.start":
      // Images and the video codecs this console decodes; audio (opus) is not shown here (§4.1).
      if (message.owner === "customer" && isVisualCodec(message.codec) && CODECS.includes(message.codec)) {
        viewing = message.streamId;
        viewingSource = message.source;
        view.startStream(message);
        // Shapes stick to the scene on a camera (§5.15), to the picture on a screen; the agent may change it.
        $("stick").checked = message.source === "camera";
        // A new announcement may come from a new sender (a restart, another codec): in auto,
        // start over without a ceiling, on both sides.
        if (!$("quality").value) {
          if (latencyControl.ceiling !== null) socket.send({ type: "stream.control", streamId: viewing, action: "quality", bitrate: 100_000_000 });
          latencyControl.reset();
        }
        $("stats").textContent = `${message.source} ${message.codec} ${message.width}×${message.height}`;
      }
      break;
    case "stream.stop":
      if (message.owner === "customer" && message.streamId === viewing) {
        viewingSource = null;
        view.stopStream();
        clearStats($("stats"), "The customer stopped sharing.");
      }
      break;
    case "stream.pause":
    case "stream.resume":
      if (message.owner === "customer") chat.note(`The customer ${message.type === "stream.pause" ? "paused" : "resumed"} sharing.`);
      break;
    case "overlay.snapshot":
      if (message.owner === "customer" && message.streamId === viewing) view.overlay.load(message);
      break;
    case "annotation":
      if (message.owner === "customer" && message.streamId === viewing) view.overlay.apply(message, message.author);
      break;
    case "track":
      if (message.owner === "customer" && message.streamId === viewing) view.overlay.applyTrack(message);
      break;
    case "freeze":
      if (message.owner === "customer" && message.streamId === viewing) setFrozen(message.sequence);
      break;
    case "unfreeze":
      if (message.owner === "customer" && message.streamId === viewing) setFrozen(null);
      break;
    case "stream.control":
      if (publisher && message.streamId === publisher.streamId) publisher.control(message);
      break;
    case "chat":
      chat.add(message.supervisor ? `${message.supervisor} (supervisor)` : "customer", message.text);
      break;
    case "session.presence":
      chat.note(`Present: ${message.present.map((person) => person.role === "supervisor" ? `${person.name} (supervisor${person.participating ? "" : ", watching"})` : person.name).join(", ")}`);
      break;
    case "session.ended":
      ended = true;
      resumer.forget();
      publisher?.stopTracks();
      setState("ended", `Session ended (${message.reason}${message.outcome ? `, ${message.outcome}` : ""}).`);
      $("workspace").hidden = true;
      $("end").hidden = true;
      chat.note("The session has ended.");
      break;
    case "error":
      chat.note(`Broker: ${message.message} (${message.code})`);
      break;
  }
}

// ---- drawing ----------------------------------------------------------------------------

const overlayCanvas = $("customer-overlay");
let drawing = null;
let lastSent = 0;

const tool = () => document.querySelector("input[name=tool]:checked").value;
const color = () => $("color").value;

function point(event) {
  const box = overlayCanvas.getBoundingClientRect();
  const clamp = (value) => Math.min(1, Math.max(0, value));
  return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)].map((value) => Math.round(value * 10000) / 10000);
}

function annotate(fields) {
  if (viewing === null) return;
  const message = { type: "annotation", owner: "customer", streamId: viewing, ...fields };
  socket.send(message);
  view.overlay.apply(message, "agent");
}

/** A new shape on the frame shown now: anchored to the scene when "stick to object" is on and it is tracked (§5.15). */
function newShape(kind, points, extra = {}) {
  shapeCounter += 1;
  const shape = { id: `ag-${Date.now().toString(36)}-${shapeCounter}`, kind, color: color(), width: 4, points, ...extra };
  const anchor = $("stick").checked ? view.overlay.anchorFor(view.overlaySequence) : null;
  if (anchor) shape.anchor = anchor;
  return shape;
}

/** Points drawn on the frame shown now, in the coordinates of the frame a shape was anchored on. */
function toAnchorFrame(shape, points) {
  const track = view.overlay.trackFor(view.overlaySequence);
  if (!shape?.anchor || !track || track.epoch !== shape.anchor.epoch) return points;
  const toWorld = invertMap(track.m);
  return points.map((point) => clampPoint(applyMap(shape.anchor.m, applyMap(toWorld, point))));
}

const clampPoint = (point) => point.map((value) => Math.round(Math.min(1, Math.max(0, value)) * 10000) / 10000);

/** Pins the agent's lost anchored shapes where they are shown now, on the current track (§5.15). */
function reanchor() {
  const sequence = view.overlaySequence;
  const anchor = view.overlay.anchorFor(sequence);
  if (!anchor) return chat.note("The camera picture is not tracked right now: point the camera at the scene, then re-anchor.");
  const track = view.overlay.trackFor(sequence);
  let count = 0;
  for (const shape of view.overlay.visible()) {
    if (!shape.anchor || shape.author !== "agent") continue;
    const placed = anchoredPoints(shape, track);
    if (!placed.lost) continue;
    const { drawnAt, author, ...fields } = shape;
    annotate({ op: "add", shape: { ...fields, points: placed.points.map(clampPoint), anchor } });
    count += 1;
  }
  chat.note(count ? `Re-anchored ${count} shape${count === 1 ? "" : "s"} where they are shown.` : "No lost shapes to re-anchor.");
}
$("reanchor").addEventListener("click", reanchor);

overlayCanvas.addEventListener("pointerdown", (event) => {
  if (viewing === null) return;
  try {
    overlayCanvas.setPointerCapture(event.pointerId);
  } catch {
    // A pointer the browser does not know (a synthetic event): drawing works without capture.
  }
  const at = point(event);
  switch (tool()) {
    case "stroke": {
      const shape = newShape("stroke", [at]);
      annotate({ op: "add", shape });
      drawing = { kind: "stroke", id: shape.id, pending: [], shape };
      break;
    }
    case "text": {
      const text = window.prompt("Text to show the customer", "") ?? "";
      if (text.trim()) annotate({ op: "add", shape: newShape("text", [at], { text: text.trim().slice(0, 500), width: 5 }) });
      break;
    }
    case "pointer":
      drawing = { kind: "pointer" };
      annotate({ op: "add", shape: { id: "laser", kind: "pointer", color: color(), width: 8, points: [at] } });
      break;
    default:
      drawing = { kind: tool(), start: at };
  }
});

overlayCanvas.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const at = point(event);
  const now = performance.now();
  if (drawing.kind === "stroke") {
    drawing.pending.push(at);
    if (now - lastSent > 40) flushStroke();
  } else if (drawing.kind === "pointer") {
    if (now - lastSent > 50) {
      lastSent = now;
      annotate({ op: "add", shape: { id: "laser", kind: "pointer", color: color(), width: 8, points: [at] } });
    }
  } else {
    view.extraShapes = [{ kind: drawing.kind, color: color(), width: 4, points: [drawing.start, at] }];
  }
});

overlayCanvas.addEventListener("pointerup", (event) => {
  if (!drawing) return;
  const at = point(event);
  if (drawing.kind === "stroke") {
    drawing.pending.push(at);
    flushStroke();
  } else if (drawing.kind !== "pointer") {
    annotate({ op: "add", shape: newShape(drawing.kind, [drawing.start, at]) });
  }
  view.extraShapes = null;
  drawing = null;
});

function flushStroke() {
  lastSent = performance.now();
  if (!drawing?.pending.length) return;
  annotate({ op: "append", id: drawing.id, points: toAnchorFrame(drawing.shape, drawing.pending) });
  drawing.pending = [];
}

function setFrozen(sequence) {
  if (sequence === null) {
    view.unfreeze();
    $("freeze").textContent = "Freeze";
    $("frozen-badge").hidden = true;
  } else {
    view.freeze(sequence);
    $("freeze").textContent = "Back to live";
    $("frozen-badge").hidden = false;
  }
}

$("undo").addEventListener("click", () => annotate({ op: "undo" }));
$("clear").addEventListener("click", () => annotate({ op: "clear" }));
$("freeze").addEventListener("click", () => {
  if (viewing === null) return;
  if (view.overlay.frozenSequence !== null) {
    socket.send({ type: "unfreeze", owner: "customer", streamId: viewing });
    setFrozen(null);
  } else if (view.shownSequence !== null) {
    socket.send({ type: "freeze", owner: "customer", streamId: viewing, sequence: view.shownSequence });
    setFrozen(view.shownSequence);
  }
});
$("keyframe").addEventListener("click", () => viewing !== null && socket.send({ type: "stream.control", streamId: viewing, action: "keyframe" }));
$("quality").addEventListener("change", () => {
  if (viewing === null) return;
  if (!$("quality").value) {
    // Back to auto: lift the agent's cap; the latency control takes over from there.
    latencyControl.reset();
    socket.send({ type: "stream.control", streamId: viewing, action: "quality", quality: 1, fps: 30 });
    return;
  }
  const [quality, fps] = $("quality").value.split(",").map(Number);
  socket.send({ type: "stream.control", streamId: viewing, action: "quality", quality, fps });
});

// ---- sharing back ("show me how") -------------------------------------------------------

async function shareBack(source) {
  publisher?.stop();
  publisher = new Publisher(socket, { streamId: 1, fps: 5, quality: 0.7, peerCodecs, video: VIDEO, track: false });
  try {
    await publisher.start(source, "user");
    $("stop-share").hidden = false;
    chat.note(`You are sharing your ${source}.`);
  } catch (error) {
    publisher = null;
    chat.note(`Your ${source} could not be shared (${error.name}).`);
  }
}
$("share-screen").addEventListener("click", () => shareBack("screen"));
$("share-camera").addEventListener("click", () => shareBack("camera"));
$("stop-share").addEventListener("click", () => {
  publisher?.stop();
  publisher = null;
  $("stop-share").hidden = true;
  clearStats($("send-stats"));
});

$("end-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const note = $("note").value.trim();
  socket?.send({ type: "session.end", outcome: $("outcome").value, note: note || undefined });
});

// Statistics once a second (stats.js): the customer's stream as shown here (data-fps: frames
// shown per second), and what the console shares back.
setInterval(() => {
  document.body.dataset.framesReceived = String(received);
  if (viewingSource !== null && !ended) {
    const stats = view.takeStats();
    showStats($("stats"), stats, viewingSource);
    const bitrate = $("quality").value ? null : latencyControl.second(stats.latencyMs ?? null, stats.kbps, performance.now());
    if (bitrate !== null && viewing !== null) socket.send({ type: "stream.control", streamId: viewing, action: "quality", bitrate });
    $("stats").dataset.ceiling = String(latencyControl.ceiling ?? "none");
  }
  if (publisher?.active && !ended) showStats($("send-stats"), publisher.takeStats(), `your ${publisher.source}`);
  // Re-anchoring is offered while some of the agent's anchored shapes are lost (§5.15).
  const drawn = Object.values($("customer-overlay").drawn?.shapes ?? {});
  $("reanchor").hidden = !drawn.some((placed) => placed.anchored && placed.lost);
}, 1000);

if (!token && resumer.token) {
  setState("reconnecting", "Reconnecting to your session…");
  connect({ role: "agent", resume: resumer.token, client: CLIENT, codecs: CODECS });
} else if (!token) {
  setState("no-token", "This console needs a sign-in link: run `tandem session start --console --ticket T` and open the URL it prints.");
} else if (params.get("ticket")) {
  start(params.get("ticket"), params.get("mode") === "screen" ? "screen" : "camera");
} else {
  $("start").hidden = false;
  setState("ready", "Start a session for a ticket.");
  $("start-form").addEventListener("submit", (event) => {
    event.preventDefault();
    start($("ticket").value.trim(), $("mode").value);
  });
}
