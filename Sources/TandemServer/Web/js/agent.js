// The agent console, /agent#token=…&ticket=…&mode=…: start a session, watch the customer's
// stream, draw on it, freeze, chat, share back, hand over, end with an outcome.
// With the presence switch on, it keeps a second connection (presence.js, §20.1) and takes
// the customers offered to it (§20.2). /agent#token=…&watch=SESSION&participate=0|1 watches a
// live session as a supervisor (§18); #offer=ID takes an offer (a further session in a new tab).
import { ChatPanel } from "./chat.js";
import { codecsOf, decodableCodecs, forcedCodec, isVisualCodec } from "./codecs.js";
import { TandemSocket } from "./connection.js";
import { FrameView } from "./frame-view.js";
import { anchoredPoints, applyMap, invertMap } from "./overlay.js";
import { LatencyControl } from "./latency-control.js";
import { PresenceConnection, nameList } from "./presence.js";
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
// A supervisor's view of a live session (§18): observer (participate=0) or participant (1).
const WATCH = params.get("watch");
const PARTICIPATE = params.get("participate") === "1";
// An offer accepted in another console of this agent that was busy with a session (§20.2).
const OFFER = params.get("offer");
const PRESENCE_DEFAULTS = {
  lines: nameList(params.get("lines") ?? "line1"),
  skills: nameList(params.get("skills") ?? ""),
  maxSessions: Math.min(8, Math.max(1, Math.trunc(Number(params.get("max"))) || 1)),
};

const view = new FrameView($("customer-view"), $("customer-overlay"), {
  onNeedKeyframe: () => viewing !== null && !WATCH && socket?.send({ type: "stream.control", streamId: viewing, action: "keyframe" }),
});
let socket = null;
let created = null;
let ended = false;
let viewing = null;
// What the customer's stream is (stream.start), for the statistics; null once it stopped.
let viewingSource = null;
// Its codec: a supervisor gets the frames of both sides, and stream ids may repeat across them.
let viewingCodec = null;
let publisher = null;
// session.watching, while this console watches a session as a supervisor.
let watching = null;
// Where the session went (session.transferred pending): the close with 4302 follows.
let handedOver = null;
// The broker's words when an accepted offer was gone (error offer-gone before close 4204).
let offerGone = null;
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

// In the session on the current connection: chat goes out (a line typed while the console
// reconnects waits for the session to be back).
let attached = false;
const chat = new ChatPanel(
  $("chat"),
  (text) => {
    if (!attached || !socket?.isOpen) return false;
    socket.send({ type: "chat", text });
    return true;
  },
  () => !WATCH && created !== null && !ended && resumer.token !== null,
);
const newVoice = () => attachVoice("agent", { socket: () => socket, container: $("voice"), onNote: (text) => chat.note(text) });
// Not for a supervisor: voice is between the agent and the customer.
let voice = WATCH ? null : newVoice();

function start(ticket, mode) {
  const ttl = Number(params.get("ttl")) || undefined;
  const record = params.get("record") === "1" || undefined;
  connect({ role: "agent", token, client: CLIENT, codecs: CODECS, start: { ticket, mode, ttlSeconds: ttl, record } });
}

function connect(hello) {
  $("start").hidden = true;
  attached = false;
  const mine = new TandemSocket(
    hello,
    {
      onControl(message) {
        if (mine === socket) handle(message);
      },
      onFrame(frame) {
        if (mine !== socket) return;
        if (voice?.onFrame(frame)) return;
        if (frame.streamId !== viewing) return;
        if (WATCH && frame.codec !== viewingCodec) return;
        received += 1;
        view.showFrame(frame.sequence, frame);
      },
      onClose({ code, message, final }) {
        // A connection of an earlier session of this console (a new offer was taken since).
        if (mine !== socket || ended) return;
        attached = false;
        if (code === 4302) return finishHandover();
        if (code === 4204 && !created) {
          // The offer went to someone else or timed out before the take (§20.2): back to waiting.
          socket = null;
          setState(presenceConnection ? "ready" : "refused", offerGone ? `That customer is no longer on offer: ${offerGone}` : message);
          offerGone = null;
          $("start").hidden = Boolean(presenceConnection === null || OFFER);
          return;
        }
        // A supervisor has no resume token (§18): a drop ends its view.
        if (!final && !WATCH && resumer.schedule(() => socket.reconnect({ role: "agent", resume: resumer.token, client: CLIENT, codecs: CODECS }))) {
          setState("reconnecting", "The connection was lost. Reconnecting…");
          return;
        }
        publisher?.stopTracks();
        voice?.stop();
        resumer.forget();
        ended = true;
        chat.drop();
        if (WATCH) setState(created ? "ended" : "refused", created ? (leaving ? "You left the session." : `${message} You no longer watch this session.`) : message);
        else setState(created ? "disconnected" : "refused", created ? `${message} The session has ended.` : message);
        for (const id of ["workspace", "end", "handover", "watch-bar"]) $(id).hidden = true;
      },
    },
  );
  socket = mine;
  socket.connect();
}

/** The hand-over went through (close 4302, §17): the session is the next agent's now. */
function finishHandover() {
  publisher?.stopTracks();
  voice?.stop();
  resumer.forget();
  ended = true;
  const to = handedOver ?? "another agent";
  chat.drop();
  setState("transferred", `Handed over to ${to}. The session goes on without you.`);
  chat.note(`Handed over to ${to}.`);
  $("customer-state").textContent = `Handed over to ${to}.`;
  $("chat").querySelector("form").hidden = true;
  for (const id of ["workspace", "end", "handover"]) $(id).hidden = true;
}

/** Takes the customer of an offer (hello.take.offer, §20.2); the session then runs here. */
function take(offerId) {
  setState("taking", "Taking the customer…");
  connect({ role: "agent", token, client: CLIENT, codecs: CODECS, take: { offer: offerId } });
}

/** Joins a live session as a supervisor (hello.watch, §18). */
function watch(sessionId, participate) {
  setState("connecting", `Joining session ${sessionId}…`);
  connect({ role: "agent", token, client: CLIENT, codecs: CODECS, watch: { sessionId, participate } });
}

/** Before the next session in this console: forget everything of the last one. */
function resetSession() {
  ended = false;
  created = null;
  viewing = null;
  viewingSource = null;
  viewingCodec = null;
  handedOver = null;
  offerGone = null;
  publisher?.stopTracks();
  publisher = null;
  peerCodecs = null;
  view.stopStream();
  setFrozen(null);
  view.overlay.load({ shapes: [] });
  latencyControl.reset();
  resumer.done();
  voice?.stop();
  voice = newVoice();
  $("stop-share").hidden = true;
  clearStats($("stats"));
  clearStats($("send-stats"));
  for (const id of ["invite", "workspace", "end", "handover"]) $(id).hidden = true;
  $("customer-state").textContent = "Waiting for the customer…";
  $("chat").querySelector("form").hidden = false;
  delete document.body.dataset.sessionId;
  delete document.body.dataset.joinCode;
  delete document.body.dataset.consent;
  delete document.body.dataset.supervisorAsked;
  chat.note("— next session —");
}

/** The customer's codecs changed (§5.1): the share-back restarts if another codec fits better. */
function setPeerCodecs(codecs) {
  peerCodecs = codecs;
  publisher?.setPeerCodecs(codecs);
}

function handle(message) {
  // Voice (§5.14) first: the microphone's consent and audio streams are its own.
  if (voice?.handle(message)) return;
  switch (message.type) {
    case "session.assigned": {
      // Taken from the queue (§16) or handed over to us (§17): the customer is there already.
      resumer.remember(message.resumeToken);
      created = { sessionId: message.sessionId, ticket: message.ticket, mode: message.mode };
      attached = true;
      document.body.dataset.sessionId = message.sessionId;
      setPeerCodecs(codecsOf(message));
      $("end").hidden = false;
      $("chat").hidden = false;
      $("handover").hidden = false;
      const from = message.transferredFrom ? ` Handed over by ${message.transferredFrom}${message.note ? `: ${message.note}` : "."}` : "";
      chat.note(`Ticket ${message.ticket}: ${message.tier} support from ${message.line}, waited ${message.waitedSeconds} s.${from}`);
      if (message.customerPresent) {
        $("workspace").hidden = false;
        $("customer-state").textContent = message.transferredFrom ? "The customer is connected." : "The customer is being asked for consent.";
        setState("live", `Customer connected on ticket ${message.ticket} (${message.tier}, ${message.line}).`);
      } else {
        $("customer-state").textContent = "The customer's connection dropped; waiting for it to come back…";
        setState("waiting", `Session ${message.sessionId} for ticket ${message.ticket}: the customer is reconnecting…`);
      }
      break;
    }
    case "session.watching":
      created = { sessionId: message.sessionId, ticket: message.ticket, mode: message.mode };
      attached = true;
      watching = message;
      document.body.dataset.sessionId = message.sessionId;
      document.body.dataset.watching = message.participate ? "participant" : "observer";
      document.body.classList.toggle("observer", !message.participate);
      $("customer-overlay").classList.toggle("draw", message.participate);
      $("workspace").hidden = false;
      $("chat").hidden = false;
      $("chat").querySelector("form").hidden = !message.participate;
      $("watch-bar").hidden = false;
      $("watch-mode").textContent = message.participate ? "Taking part: you can draw and chat" : "Watching: nothing you do reaches the session";
      $("customer-state").textContent = message.customerPresent ? "The customer is connected." : "The customer is not connected right now.";
      setState("watching", `Supervising session ${message.sessionId} (ticket ${message.ticket}) of ${message.agent} as ${message.participate ? "a participant" : "an observer"}.`);
      break;
    case "session.transferred":
      if (WATCH) {
        chat.note(message.state === "pending"
          ? `${message.from} hands the session over to ${message.toAgent ?? message.line ?? "another agent"}.`
          : `${message.agent ?? "Another agent"} took the session over.`);
      } else if (message.state === "pending") {
        handedOver = message.toAgent ?? message.line ?? "another agent";
        $("customer-state").textContent = `Handing over to ${handedOver}…`;
      }
      break;
    case "session.created":
      resumer.remember(message.resumeToken);
      created = message;
      attached = true;
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
      attached = true;
      chat.flush();
      document.body.dataset.sessionId = message.sessionId;
      // The customer's codecs come only while it is connected; while it is away, keep what we knew.
      if (message.codecs || message.peerPresent) setPeerCodecs(codecsOf(message));
      publisher?.requestKeyframe();
      $("end").hidden = false;
      $("workspace").hidden = !message.peerPresent;
      $("chat").hidden = false;
      $("handover").hidden = !message.peerPresent;
      setState(message.peerPresent ? "live" : "waiting", `Reconnected to session ${message.sessionId} (ticket ${message.ticket}).`);
      break;
    case "peer.away":
      $("customer-state").textContent = "The customer's connection dropped; waiting up to a minute for it to come back…";
      chat.note($("customer-state").textContent);
      break;
    case "peer.back":
      $("handover").hidden = WATCH !== null;
      $("customer-state").textContent = "The customer is back.";
      chat.note($("customer-state").textContent);
      if (message.codecs) setPeerCodecs(codecsOf(message));
      publisher?.requestKeyframe();
      break;
    case "peer.joined":
      if (WATCH) {
        $("customer-state").textContent = "The customer is connected.";
        break;
      }
      setPeerCodecs(codecsOf(message));
      $("customer-state").textContent = "The customer joined and is being asked for consent.";
      $("workspace").hidden = false;
      $("chat").hidden = false;
      $("handover").hidden = false;
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
        viewingCodec = message.codec;
        view.startStream(message);
        // Shapes stick to the scene on a camera (§5.15), to the picture on a screen; the agent may change it.
        $("stick").checked = message.source === "camera";
        // A new announcement may come from a new sender (a restart, another codec): in auto,
        // start over without a ceiling, on both sides.
        if (!$("quality").value && !WATCH) {
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
      chat.add(message.supervisor ? `${message.supervisor} (supervisor)` : WATCH && message.from === "agent" ? watching?.agent ?? "agent" : "customer", message.text);
      break;
    case "session.presence":
      chat.note(`Present: ${message.present.map((person) => person.role === "supervisor" ? `${person.name} (supervisor${person.participating ? "" : ", watching"})` : person.name).join(", ")}`);
      break;
    case "session.ended":
      ended = true;
      resumer.forget();
      publisher?.stopTracks();
      setState("ended", WATCH && leaving ? "You left the session." : `Session ended (${message.reason}${message.outcome ? `, ${message.outcome}` : ""}).`);
      for (const id of ["workspace", "end", "handover", "watch-bar"]) $(id).hidden = true;
      chat.drop();
      chat.note("The session has ended.");
      break;
    case "error":
      if (message.code === "offer-gone") offerGone = message.message;
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
  if (!mayDraw()) return;
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

/** Whether this console may draw: the session's agent, or a participating supervisor (§18). */
const mayDraw = () => viewing !== null && (!WATCH || watching?.participate === true);

overlayCanvas.addEventListener("pointerdown", (event) => {
  if (!mayDraw()) return;
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
    const bitrate = $("quality").value || WATCH ? null : latencyControl.second(stats.latencyMs ?? null, stats.kbps, performance.now());
    if (bitrate !== null && viewing !== null) socket.send({ type: "stream.control", streamId: viewing, action: "quality", bitrate });
    $("stats").dataset.ceiling = String(latencyControl.ceiling ?? "none");
  }
  if (publisher?.active && !ended) showStats($("send-stats"), publisher.takeStats(), `your ${publisher.source}`);
  // Re-anchoring is offered while some of the agent's anchored shapes are lost (§5.15).
  const drawn = Object.values($("customer-overlay").drawn?.shapes ?? {});
  $("reanchor").hidden = !drawn.some((placed) => placed.anchored && placed.lost);
}, 1000);

// ---- hand-over and help (§17, §20.5) ------------------------------------------------------

// A line or an agent, not both: typing in one clears the other.
$("transfer-line").addEventListener("input", () => ($("transfer-agent").value = ""));
$("transfer-agent").addEventListener("input", () => ($("transfer-line").value = ""));

/** The reason field: a choice of the broker's reason codes, or free text when it has none (§20.5). */
function setTransferReasons(reasons) {
  const current = $("transfer-reason");
  const key = JSON.stringify(reasons);
  if (current.dataset.reasons === key) return;
  let field;
  if (reasons.length) {
    field = document.createElement("select");
    field.required = true;
    field.append(new Option("Choose a reason", ""));
    for (const reason of reasons) field.append(new Option(reason, reason));
    if (reasons.includes(current.value)) field.value = current.value;
  } else {
    field = document.createElement("input");
    field.maxLength = 64;
    field.placeholder = "optional";
    field.autocomplete = "off";
    field.value = current.value;
  }
  field.id = "transfer-reason";
  field.dataset.reasons = key;
  current.replaceWith(field);
}

$("transfer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const line = $("transfer-line").value.trim();
  const agent = $("transfer-agent").value.trim();
  if (Boolean(line) === Boolean(agent)) {
    chat.note("Hand over to a line or to an agent: fill in one of them.");
    return;
  }
  const reason = $("transfer-reason").value.trim();
  const note = $("transfer-note").value.trim();
  if (!socket?.isOpen) return chat.note("Not connected: the session cannot be handed over right now.");
  socket.send({ type: "session.transfer", line: line || undefined, agent: agent || undefined, reason: reason || undefined, note: note || undefined });
  chat.note(`Handing over to ${line || agent}${reason ? ` (${reason})` : ""}…`);
});

$("ask-supervisor").addEventListener("click", () => {
  const note = $("supervisor-note").value.trim();
  if (!socket?.isOpen) return chat.note("Not connected: no supervisor could be asked.");
  socket.send({ type: "supervisor.request", note: note || undefined });
  document.body.dataset.supervisorAsked = "true";
  chat.note(note ? `Supervisor asked: ${note}` : "Supervisor asked.");
  $("supervisor-note").value = "";
});

let leaving = false;
$("leave-watch").addEventListener("click", () => {
  leaving = true;
  socket?.send({ type: "session.end" });
});

// ---- presence and offers (§20.1, §20.2) ---------------------------------------------------

const STATE_TEXT = { available: "Available", busy: "Busy", away: "Away", offline: "Offline" };
let presenceConnection = null;
// The offer shown on the card, and the timer of its countdown.
let offer = null;
let offerTimer = null;

/** What the inputs say: lines (at least one), skills and the most sessions. */
function presenceSettings(state) {
  const lines = nameList($("presence-lines").value);
  const max = Math.trunc(Number($("presence-max").value));
  return {
    state,
    lines: lines.length ? lines.slice(0, 16) : ["line1"],
    skills: nameList($("presence-skills").value).slice(0, 16),
    maxSessions: max >= 1 && max <= 8 ? max : 1,
  };
}

function showPresence(state, text) {
  $("presence-state").dataset.state = state;
  $("presence-state").textContent = text;
  document.body.dataset.presence = state;
}

function presenceStatus(message) {
  const sessions = `${message.sessions}/${message.maxSessions} session${message.maxSessions === 1 ? "" : "s"}`;
  showPresence(message.state, `${STATE_TEXT[message.state] ?? message.state} · ${sessions} · ${message.lines.join(", ")}`);
  $("presence-toggle").checked = message.state !== "away";
  $("presence-offline").hidden = false;
  $("presence-note").textContent = message.reason === "missed-offer" && message.state === "away"
    ? "You were set to Away because an offer was not answered."
    : "";
  // The broker's view wins, except in a field being edited.
  if (document.activeElement !== $("presence-lines")) $("presence-lines").value = message.lines.join(", ");
  if (document.activeElement !== $("presence-skills")) $("presence-skills").value = message.skills.join(", ");
  if (document.activeElement !== $("presence-max")) $("presence-max").value = String(message.maxSessions);
  setTransferReasons(message.transferReasons ?? []);
}

function showOffer(message) {
  offer = message;
  const card = $("offer");
  card.dataset.offerId = message.offerId;
  card.dataset.kind = message.kind;
  $("offer-title").textContent = message.kind === "transfer" ? "A session is handed over to you" : "A customer is waiting for you";
  $("offer-ticket").textContent = message.ticket;
  $("offer-tier").textContent = message.tier;
  $("offer-line").textContent = message.line;
  $("offer-mode").textContent = message.mode;
  $("offer-skills").textContent = message.skills.length ? message.skills.join(", ") : "none";
  $("offer-waited").textContent = waitText(message.waitedSeconds);
  $("offer-transfer").textContent = message.kind === "transfer" ? `From ${message.from ?? "another agent"}${message.note ? `: ${message.note}` : ""}` : "";
  $("offer-transfer").hidden = message.kind !== "transfer";
  $("offer-accept").disabled = false;
  $("offer-decline").disabled = false;
  card.hidden = false;
  clearInterval(offerTimer);
  countdown();
  offerTimer = setInterval(countdown, 250);
}

function countdown() {
  if (!offer) return;
  const left = Math.max(0, Math.ceil((Date.parse(offer.until) - Date.now()) / 1000));
  $("offer-countdown").textContent = `${left} s`;
  $("offer-countdown").dataset.seconds = String(left);
  // The broker moves on by itself (§20.2); the card goes a moment later.
  if (Date.now() > Date.parse(offer.until) + 2000) hideOffer();
}

function hideOffer() {
  offer = null;
  clearInterval(offerTimer);
  $("offer").hidden = true;
  delete $("offer").dataset.offerId;
}

/** Whether a session runs (or is being opened) in this console. */
const busy = () => socket !== null && !ended;

$("offer-accept").addEventListener("click", () => {
  if (!offer) return;
  const { offerId } = offer;
  hideOffer();
  if (busy()) {
    // One session per console: another one (maxSessions above 1) opens in a new tab, which
    // shares neither this tab's storage (noopener) nor its presence connection.
    window.open(`/agent#token=${encodeURIComponent(token)}&offer=${encodeURIComponent(offerId)}`, "_blank", "noopener");
    return;
  }
  if (created || ended) resetSession();
  take(offerId);
});

$("offer-decline").addEventListener("click", () => {
  if (!offer) return;
  presenceConnection?.decline(offer.offerId);
  chat.note(`You declined ticket ${offer.ticket}.`);
  hideOffer();
});

function startPresence() {
  $("presence").hidden = false;
  $("presence-lines").value = PRESENCE_DEFAULTS.lines.join(", ") || "line1";
  $("presence-skills").value = PRESENCE_DEFAULTS.skills.join(", ");
  $("presence-max").value = String(PRESENCE_DEFAULTS.maxSessions);
  showPresence("offline", "Offline");
  $("presence-toggle").addEventListener("change", () => {
    const state = $("presence-toggle").checked ? "available" : "away";
    if (!presenceConnection) {
      if (state === "away") return;
      presenceConnection = new PresenceConnection(token, CLIENT, {
        onStatus: presenceStatus,
        onOffer: showOffer,
        onWithdrawn(message) {
          if (offer?.offerId !== message.offerId) return;
          const why = { "customer-left": "the customer left", taken: "another agent took it", overflowed: "it moved to another line" }[message.reason] ?? message.reason;
          $("presence-note").textContent = `The offer for ticket ${offer.ticket} was withdrawn: ${why}.`;
          hideOffer();
        },
        onError(message) {
          $("presence-note").textContent = `Broker: ${message.message} (${message.code})`;
        },
        onState({ connected, text, final }) {
          if (connected) return;
          $("presence-note").textContent = text;
          if (final) {
            presenceConnection = null;
            hideOffer();
            $("presence-toggle").checked = false;
            $("presence-offline").hidden = true;
            showPresence("offline", "Offline");
          } else {
            showPresence("connecting", "Connecting…");
          }
        },
      });
      presenceConnection.set(presenceSettings("available"));
      return;
    }
    presenceConnection.set(presenceSettings(state), { state });
  });
  $("presence-apply").addEventListener("click", () => {
    if (!presenceConnection) return;
    presenceConnection.set(presenceSettings($("presence-toggle").checked ? "available" : "away"));
  });
  $("presence-offline").addEventListener("click", () => {
    presenceConnection?.close();
  });
}

if (WATCH) document.body.classList.add("watch");
if (token && !WATCH && !OFFER) startPresence();

if (token && WATCH) {
  watch(WATCH, PARTICIPATE);
} else if (token && OFFER) {
  take(OFFER);
} else if (!token && resumer.token) {
  setState("reconnecting", "Reconnecting to your session…");
  connect({ role: "agent", resume: resumer.token, client: CLIENT, codecs: CODECS });
} else if (!token) {
  setState("no-token", "This console needs a sign-in link: run `tandem session start --console --ticket T` and open the URL it prints.");
} else if (params.get("ticket")) {
  start(params.get("ticket"), params.get("mode") === "screen" ? "screen" : "camera");
} else {
  $("start").hidden = false;
  setState("ready", "Start a session for a ticket, or turn on Available to be offered customers from the queue.");
  $("start-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (created || ended) resetSession();
    start($("ticket").value.trim(), $("mode").value);
  });
}

/** "45 s" or "3 min 20 s". */
function waitText(seconds) {
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
