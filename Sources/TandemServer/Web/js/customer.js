// The customer's page: /j/CODE joins with a code; /help asks for help without one and waits
// in the queue (protocol/README.md §16). Then: ask for consent, share the camera or screen,
// show the agent's annotations on the preview, chat, leave.
import { ChatPanel } from "./chat.js";
import { codecsOf, decodableCodecs, forcedCodec, isVisualCodec } from "./codecs.js";
import { checkConnection } from "./connection-check.js";
import { TandemSocket } from "./connection.js";
import { CLOSE_MESSAGES } from "./protocol.js";
import { FrameView } from "./frame-view.js";
import { Publisher } from "./publisher.js";
import { Resumer } from "./resume.js";
import { attachVoice } from "./voice-ui.js";
import { clearStats, showStats } from "./stats.js";
import { pendingSurvey, SurveyPanel } from "./survey.js";

const $ = (id) => document.getElementById(id);
const queued = location.pathname === "/help";
const code = queued ? "" : decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() ?? "");
// The link's key (/j/CODE#k=KEY, §3.1) spares the join the guessing limits. It is in the
// fragment, which the browser never sends to a server; a code typed by hand has none.
const linkKey = queued ? null : new URLSearchParams(location.hash.slice(1)).get("k");
// Kept in memory only: the address bar (often on a shared screen) no longer shows it.
if (linkKey) history.replaceState(null, "", location.pathname + location.search);
const joinHello = () => ({ role: "customer", code, key: linkKey ?? undefined, client: CLIENT, codecs: CODECS });
const resumeHello = () => ({ role: "customer", resume: resumer.token, client: CLIENT, codecs: CODECS });
const notBeforeKey = `tandem.notBefore.${code}`;
// What this browser decodes goes in every hello (§5.1): the agent then sends video it can show.
const CODECS = await decodableCodecs();
// ?video=jpeg|vp8|vp9|h264|av1 forces what this page publishes (tests and benchmarks).
const query = new URLSearchParams(location.search);
const VIDEO = forcedCodec(query.get("video"));
// ?fps=N (1–30) and ?kbps=N (100–4000) set the video's ceiling, for benchmarks; else adaptive.js's.
const LIMITS = (() => {
  const fps = Number(query.get("fps"));
  const kbps = Number(query.get("kbps"));
  const limits = {};
  if (fps >= 1 && fps <= 30) limits.maxFps = fps;
  if (kbps >= 100 && kbps <= 4000) limits.maxBitrate = kbps * 1000;
  return Object.keys(limits).length ? limits : null;
})();
const preview = new FrameView($("preview"), $("preview-overlay"));
const agentView = new FrameView($("agent-view"), $("agent-overlay"), {
  onNeedKeyframe: () => agentStream !== null && socket.send({ type: "stream.control", streamId: agentStream, action: "keyframe" }),
});
let joined = null;
let ended = false;
// Joined or resumed on the current connection: chat goes out (until then it is held).
let attached = false;
let publisher = null;
let agentStream = null;
// What the agent's client decodes (§5.1); null: an old client, or not known yet (JPEG).
let peerCodecs = null;
let retryAfter = null;
// The customer asked for a callback (queue.callback, §20.4).
let callbackSent = false;
// Seconds spent waiting as told after 4430; the page gives up after 10 minutes, as the CLI does.
let throttledWaited = 0;
const resumer = new Resumer(queued ? "help" : code);
const CLIENT = "tandem-web/1";

function setState(state, text) {
  document.body.dataset.state = state;
  if (text) $("status").textContent = text;
}

const what = () => (joined?.mode === "screen" ? "screen" : "camera");

const socket = new TandemSocket(
  resumer.token ? resumeHello() : joinHello(),
  {
    onControl: handle,
    onFrame(frame) {
      if (voice.onFrame(frame)) return;
      if (agentStream !== null && frame.streamId === agentStream) agentView.showFrame(frame.sequence, frame);
    },
    onClose({ code, message, final }) {
      attached = false;
      if (ended) return;
      if (code === 4430 && retryAfter) {
        message = queued
          ? `Too many requests for help came from your network or reached this service lately. Please try again in ${waitText(retryAfter)}.`
          : resumer.token
            ? `Too many reconnections came from your network or reached this service lately. Please try again in ${waitText(retryAfter)}.`
            : `Too many wrong codes were tried. Please try again in ${waitText(retryAfter)}.`;
      }
      if (code === 4430 && retryAfter && !queued && !joined && !resumer.token && throttledWaited + Math.max(retryAfter, 1) <= 600) {
        // The code was not checked (§3.1). Try again when told, not sooner: coming back early
        // loses the place in line. A reload waits out the rest too.
        const wait = Math.max(retryAfter, 1) * 1000 + 250;
        throttledWaited += Math.max(retryAfter, 1);
        retryAfter = null;
        sessionStorage.setItem(notBeforeKey, String(Date.now() + wait));
        setState("throttled", `Too many wrong codes were tried on this service lately. Trying again by itself in ${waitText(Math.ceil(wait / 1000))}…`);
        setTimeout(() => socket.reconnect(joinHello()), wait);
        return;
      }
      // A refused or throttled resume (4411, 4430) is final: the token is no longer any good.
      if (!final && code !== 4430 && resumer.token && resumer.schedule(() => socket.reconnect(resumeHello()))) {
        setState("reconnecting", "The connection was lost. Reconnecting…");
        return;
      }
      publisher?.stopTracks();
      voice.stop();
      resumer.forget();
      ended = true;
      chat.drop();
      if (joined && code === 4411) {
        // The session ended while this page was away (§5.13): that is an end, not a failure.
        setState("ended", "The session has ended while you were disconnected. Thank you! If you still need help, ask your agent for a new code.");
        chat.note("The session has ended.");
      } else if (joined) setState("disconnected", `${message} The session has ended; if you still need help, ask your agent for a new code.`);
      else if (queued && code === 1000) setState("refused", "You left the queue.");
      else setState("refused", message);
      for (const id of ["consent", "stage", "leave"]) $(id).hidden = true;
    },
  },
);

// A line typed while the page reconnects waits for the session to be back.
const chat = new ChatPanel(
  $("chat"),
  (text) => {
    if (!attached || !socket.isOpen) return false;
    socket.send({ type: "chat", text });
    return true;
  },
  () => joined !== null && !ended && resumer.token !== null,
);
const voice = attachVoice("customer", { socket, container: $("voice"), onNote: (text) => chat.note(text) });
// The post-session survey (§5.16); one left open by an earlier visit of this page comes back.
const survey = new SurveyPanel($("survey"), {
  onChange(state) {
    if (state !== "offered" && state !== "failed" && document.body.dataset.state === "ended") $("status").textContent = "The session has ended. Thank you!";
  },
});
const pendingOffer = pendingSurvey(location.pathname);

/** The agent's codecs changed (§5.1): the stream restarts if another codec fits better. */
function setPeerCodecs(codecs) {
  peerCodecs = codecs;
  publisher?.setPeerCodecs(codecs);
}

function handle(message) {
  // Voice (§5.14) first: the microphone's consent and audio streams are its own.
  if (voice.handle(message)) return;
  switch (message.type) {
    case "session.joined":
      resumer.remember(message.resumeToken);
      joined = message;
      attached = true;
      $("callback").hidden = true;
      setPeerCodecs(codecsOf(message));
      $("leave").textContent = "Leave the session";
      $("consent-title").textContent = `${message.agent} asks to see your ${what()}`;
      $("consent-text").textContent = `Support for ticket ${message.ticket}. Nothing is shared until you allow it; you can pause or stop at any time.`;
      $("allow").textContent = `Share my ${what()}`;
      $("switch-camera").hidden = message.mode !== "camera";
      $("recording-notice").hidden = message.recording !== true;
      $("consent").hidden = false;
      $("chat").hidden = false;
      $("leave").hidden = false;
      setState("consent", `Connected to ${message.agent}.`);
      break;
    case "session.resumed":
      resumer.remember(message.resumeToken);
      resumer.done();
      joined = message;
      attached = true;
      chat.flush();
      // The agent's codecs come only while it is connected; while it is away, keep what we knew.
      if (message.codecs || message.peerPresent) setPeerCodecs(codecsOf(message));
      $("chat").hidden = false;
      $("leave").hidden = false;
      if (publisher?.active) {
        // The agent missed what was sent while this page was away.
        publisher.requestKeyframe();
        setState("sharing", `Reconnected. Sharing your ${what()} with ${message.agent}.`);
      } else {
        // After a reload: ask again before capturing anything.
        $("consent-title").textContent = `Reconnected to ${message.agent}`;
        $("consent-text").textContent = `Share your ${what()} again? Nothing is shared until you allow it.`;
        $("allow").textContent = `Share my ${what()}`;
        $("switch-camera").hidden = message.mode !== "camera";
        $("consent").hidden = false;
        setState("consent", `Reconnected to ${message.agent}.`);
      }
      break;
    case "queue.status":
      $("ask").hidden = true;
      $("leave").hidden = false;
      $("leave").textContent = "Leave the queue";
      document.body.dataset.position = message.position;
      // The broker's estimate from the line's recent sessions (§16), when it has one.
      if (message.estimatedWaitSeconds !== undefined) document.body.dataset.estimatedWait = String(message.estimatedWaitSeconds);
      else delete document.body.dataset.estimatedWait;
      setState("queued", (message.position === 1
        ? `You are next in line (${message.tier} support). An agent will be with you shortly…`
        : `You are number ${message.position} in line (${message.tier} support). Please keep this page open…`)
        + estimateText(message.estimatedWaitSeconds));
      // After the callback wait the customer may leave a message instead of waiting (§20.4).
      if (message.callbackOffered === true && !callbackSent && $("callback").hidden) {
        $("callback").hidden = false;
        document.body.dataset.callback = "offered";
      }
      break;
    case "queue.callback-recorded":
      // The broker closes with 1000 next: nothing to reconnect to.
      ended = true;
      resumer.forget();
      document.body.dataset.callback = "recorded";
      for (const id of ["callback", "ask", "leave"]) $(id).hidden = true;
      $("callback-done").textContent = `We will call you back about ticket ${message.ticket}.`;
      $("callback-done").hidden = false;
      setState("callback", "You left the line: we will call you back. You can close this page.");
      break;
    case "session.transferred":
      if (message.state === "pending") {
        chat.note(`${message.from} is handing you over to ${message.toAgent ?? "a colleague"}. Please stay on this page.`);
        setState("transferring", `${message.from} is handing you over to ${message.toAgent ?? "a colleague"}…`);
      } else if (joined) {
        joined = { ...joined, agent: message.agent };
        // The new agent's client may decode other codecs; it needs a keyframe either way.
        setPeerCodecs(codecsOf(message));
        publisher?.requestKeyframe();
        chat.note(`You are now talking to ${message.agent}.`);
        setState(publisher?.active ? "sharing" : "connected", publisher?.active ? `Sharing your ${what()} with ${message.agent}.` : `Connected to ${message.agent}.`);
      }
      break;
    case "session.presence": {
      const others = message.present.filter((person) => person.role === "supervisor");
      const text = others.length === 0
        ? "Only you and your agent are in this session."
        : `Also present: ${others.map((person) => `${person.name} (supervisor, ${person.participating ? "taking part" : "watching"})`).join(", ")}.`;
      // Only a change of who else is watching is worth a line in the chat.
      if (text !== $("presence").textContent) chat.note(text);
      $("presence").textContent = text;
      $("presence").hidden = false;
      break;
    }
    case "peer.away":
      chat.note(`${joined?.agent ?? "Your agent"}'s connection dropped; waiting for them to come back…`);
      break;
    case "peer.back":
      chat.note(`${joined?.agent ?? "Your agent"} is back.`);
      if (message.codecs) setPeerCodecs(codecsOf(message));
      publisher?.requestKeyframe();
      break;
    case "stream.start":
      // Images and the video codecs this page decodes; audio (opus) is not shown here (§4.1).
      if (message.owner === "agent" && isVisualCodec(message.codec) && CODECS.includes(message.codec)) {
        agentStream = message.streamId;
        agentView.startStream(message);
        $("agent-share").hidden = false;
      }
      break;
    case "stream.stop":
      if (message.owner === "agent" && message.streamId === agentStream) {
        agentStream = null;
        agentView.stopStream();
        clearStats($("recv-stats"));
        $("agent-share").hidden = true;
      }
      break;
    case "overlay.snapshot":
      viewFor(message.owner).overlay.load(message);
      if (message.frozenSequence !== undefined) freeze(message.owner, message.frozenSequence);
      break;
    case "track":
      // The other side's camera tracking (§5.15); ours reaches the preview from the publisher.
      if (message.owner !== "customer") viewFor(message.owner).overlay.applyTrack(message);
      break;
    case "annotation":
      viewFor(message.owner).overlay.apply(message, message.author);
      break;
    case "freeze":
      freeze(message.owner, message.sequence);
      break;
    case "unfreeze":
      viewFor(message.owner).unfreeze();
      if (message.owner === "customer") $("frozen-badge").hidden = true;
      break;
    case "stream.control":
      if (publisher && message.streamId === publisher.streamId) publisher.control(message);
      break;
    case "chat":
      chat.add(message.supervisor ? `${message.supervisor} (supervisor)` : joined?.agent ?? "agent", message.text);
      break;
    case "session.ended":
      ended = true;
      resumer.forget();
      publisher?.stopTracks();
      setState("ended", message.survey ? "The session has ended. Thank you! Please tell us how we did." : "The session has ended. Thank you!");
      for (const id of ["consent", "stage", "leave"]) $(id).hidden = true;
      chat.drop();
      chat.note("The session has ended.");
      if (message.survey) survey.show(message.sessionId, message.survey);
      break;
    case "error":
      if (["join-throttled", "queue-throttled", "resume-throttled"].includes(message.code)) retryAfter = message.retryAfter;
      if (document.body.dataset.callback === "sending" && ["callback-unavailable", "invalid-field"].includes(message.code)) {
        // Refused (§20.4): the customer keeps its place in line and may try again.
        callbackSent = false;
        document.body.dataset.callback = "refused";
        $("callback-error").textContent = message.code === "callback-unavailable"
          ? "A callback cannot be arranged right now. You keep your place in line."
          : "The message could not be sent. Please shorten it and try again.";
        $("callback-error").hidden = false;
        $("callback-form").querySelector("button").disabled = false;
      }
      if (message.code === "other-broker" && message.redirect) {
        // Another broker of the service holds this session (§14): continue there.
        ended = true;
        setState("redirecting", CLOSE_MESSAGES[4421]);
        location.replace(new URL(`/j/${encodeURIComponent(code)}${linkKey ? `#k=${encodeURIComponent(linkKey)}` : ""}`, message.redirect).href);
      }
      // A chat line that found no agent (§9 no-peer): say so rather than let it look delivered.
      if (message.code === "no-peer" && joined) chat.note(`${joined.agent ?? "Your agent"} is not connected right now: your last message was not delivered.`);
      console.warn("Tandem broker:", message.code, message.message);
      break;
  }
}

/** "45 seconds" or "3 minutes", for a wait given in seconds. */
function waitText(seconds) {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** " Estimated wait: about 3 minutes." for an estimate in seconds; nothing without one. */
function estimateText(seconds) {
  if (seconds === undefined) return "";
  if (seconds < 60) return " Estimated wait: under a minute.";
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? ` Estimated wait: about ${minutes} minute${minutes === 1 ? "" : "s"}.` : ` Estimated wait: about ${Math.round(minutes / 60)} hours.`;
}

function viewFor(owner) {
  return owner === "agent" ? agentView : preview;
}

function freeze(owner, sequence) {
  viewFor(owner).freeze(sequence);
  if (owner === "customer") $("frozen-badge").hidden = false;
}

async function share() {
  $("consent").hidden = true;
  setState("starting", `Starting your ${what()}…`);
  const recording = joined?.recording === true ? $("allow-recording").checked : undefined;
  socket.send({ type: "consent", granted: true, source: what(), recording });
  if (recording === true) chat.note("You allowed the recording of this session.");
  publisher = new Publisher(socket, {
    streamId: 1, fps: 5, quality: 0.7, peerCodecs, video: VIDEO, limits: LIMITS,
    onFrame: (sequence, picture) => preview.showFrame(sequence, picture),
    // The camera's scene tracking (§5.15) also places the agent's anchored shapes on our preview.
    onTrack: (track) => {
      preview.overlay.applyTrack({ ...track, owner: "customer" });
      $("preview").trackerStats = publisher?.tracker?.stats() ?? null;
    },
  });
  try {
    await publisher.start(what());
    $("stage").hidden = false;
    $("stop").textContent = "Stop sharing";
    setState("sharing", `Sharing your ${what()} with ${joined.agent}.`);
  } catch (error) {
    socket.send({ type: "consent", granted: false, source: what() });
    publisher = null;
    setState("declined", `Your ${what()} could not be started (${error.name}). Nothing is shared; you can still chat.`);
  }
}

$("allow").addEventListener("click", share);
$("decline").addEventListener("click", () => {
  socket.send({ type: "consent", granted: false, source: what() });
  $("consent").hidden = true;
  setState("declined", `Nothing is shared. You can still chat with ${joined?.agent ?? "your agent"}.`);
});
$("pause").addEventListener("click", () => {
  if (!publisher) return;
  if (publisher.paused) {
    publisher.resume();
    $("pause").textContent = "Pause";
    setState("sharing", `Sharing your ${what()} with ${joined.agent}.`);
  } else {
    publisher.pause();
    $("pause").textContent = "Resume";
    setState("paused", "Sharing is paused.");
  }
});
$("stop").addEventListener("click", () => {
  if (publisher?.active) {
    publisher.stop();
    socket.send({ type: "consent", granted: false, source: what() });
    $("stop").textContent = `Share my ${what()} again`;
    setState("stopped", "You stopped sharing.");
  } else {
    share();
  }
});
$("switch-camera").addEventListener("click", () => publisher?.switchCamera());
$("callback-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (callbackSent || !socket.isOpen) return;
  const message = $("callback-message").value.trim().slice(0, 500);
  const contact = $("callback-contact").value.trim().slice(0, 100);
  callbackSent = true;
  document.body.dataset.callback = "sending";
  $("callback-error").hidden = true;
  $("callback-form").querySelector("button").disabled = true;
  socket.send({ type: "queue.callback", message, contact: contact || undefined });
});
$("leave").addEventListener("click", () => socket.send({ type: "session.end" }));

// What this page sends and what it shows of the agent's share, once a second (stats.js).
setInterval(() => {
  if (publisher?.active && !publisher.paused) showStats($("send-stats"), publisher.takeStats(), what());
  else clearStats($("send-stats"));
  if (agentStream !== null) showStats($("recv-stats"), agentView.takeStats());
}, 1000);

if (queued && !resumer.token) {
  // Ask first: the ticket, the support plan, and what the customer will show.
  // A help link signed by the broker (§16.1) sets the ticket, tier and line; without one the
  // customer waits as basic, whatever tier the address names.
  const params = new URLSearchParams(location.search);
  const link = params.get("sig") && params.get("expires") && ["basic", "standard", "premium"].includes(params.get("tier"))
    ? {
      tier: params.get("tier"), line: params.get("line"), expires: Number(params.get("expires")), signature: params.get("sig"),
      // §20.2: what the agent must know, signed with the link when it has any.
      skills: (params.get("skills") ?? "").split(",").filter(Boolean),
    }
    : null;
  if (params.get("ticket")) $("ask-ticket").value = params.get("ticket");
  $("ask-tier").value = link ? link.tier : "basic";
  $("ask-ticket").readOnly = Boolean(link && params.get("ticket"));
  $("ask-plan").textContent = link
    ? `Support plan: ${link.tier}, from your helpdesk's link.`
    : "Support plan: basic. A help link from your helpdesk gives you the place in line of your plan.";
  $("ask").hidden = false;
  setState("ask", "Tell us your ticket, and we connect you with the next free agent.");
  if (pendingOffer) survey.show(pendingOffer.sessionId, pendingOffer, { remember: false, focus: false });
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("ask-form").querySelector("button").disabled = true;
    setState("queueing", "Asking for an agent…");
    const queue = { ticket: $("ask-ticket").value.trim(), tier: $("ask-tier").value, mode: $("ask-mode").value };
    if (link) {
      if (link.line) queue.line = link.line;
      queue.expires = link.expires;
      queue.signature = link.signature;
      if (link.skills.length) queue.skills = link.skills;
    }
    socket.reconnect({ role: "customer", client: CLIENT, codecs: CODECS, queue });
  });
} else {
  const notBefore = Number(sessionStorage.getItem(notBeforeKey) ?? 0);
  if (!queued && !resumer.token && pendingOffer) {
    // This code's session has ended (the code is spent): only its survey is left to answer.
    ended = true;
    setState("ended", "Your support session has ended. Thank you! Please tell us how we did.");
    survey.show(pendingOffer.sessionId, pendingOffer, { remember: false });
  } else if (!resumer.token && notBefore > Date.now()) {
    setState("throttled", "Too many wrong codes were tried on this service lately. Trying again in a moment…");
    setTimeout(() => socket.connect(), notBefore - Date.now());
  } else {
    socket.connect();
  }
}

// "Test my connection" (/v1/echo): works before, during and after a session.
$("check-start").addEventListener("click", async () => {
  const button = $("check-start");
  const result = $("check-result");
  button.disabled = true;
  try {
    const { rttMs, rttMaxMs, mbps, verdict } = await checkConnection((text) => (result.textContent = text));
    result.textContent = `Round trip: ${rttMs} ms (worst ${rttMaxMs} ms). Speed: ${mbps} Mbit/s. ${verdict}`;
    result.dataset.rttMs = rttMs;
    result.dataset.mbps = mbps;
  } catch (error) {
    result.textContent = error.message;
  } finally {
    button.disabled = false;
  }
});
