// The voice panel of the agent console and of the customer's page: the agent turns voice on
// and off (`voice`), the customer is asked before the microphone is used (`consent` with
// source microphone), both hear the other's Opus stream (stream.start with codec opus).
// Builds its own DOM in the container; the page hands it every control message (handle)
// and every frame (onFrame). Peer-supplied text (the agent's name) only via textContent.
import { VOICE_STREAM_ID, VoicePlayer, VoiceSender, audioContext, closeAudio, unlockAudio, voiceSupport } from "./voice.js";

/** Shorthand for `new VoiceUI(role, options)`. */
export function attachVoice(role, options) {
  return new VoiceUI(role, options);
}

function element(tag, properties = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === "text") node.textContent = value;
    else if (name === "hidden") node.hidden = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

// Only real changes: a role=status region may read out every rewrite.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// Space is push-to-talk unless the key is typing somewhere.
function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable || target.closest("textarea, select")) return true;
  return target.tagName === "INPUT" && !["checkbox", "radio", "button", "submit", "range", "color"].includes(target.type);
}

export class VoiceUI {
  /**
   * `role`: "agent" or "customer". Options: socket (TandemSocket, or a function returning
   * it), container (the empty <section id="voice">), name (the agent's name; the customer's
   * page also learns it from session.joined), onNote(text) (optional: events worth a line in
   * the chat), streamId (9), capture ("auto", "processor", "worklet").
   */
  constructor(role, { socket, container, name = null, onNote = null, streamId = VOICE_STREAM_ID, capture = "auto" }) {
    this.role = role;
    // A function is asked each time (the agent console makes its socket only when it connects).
    this.socket = typeof socket === "function"
      ? {
        send: (message) => socket()?.send(message),
        sendFrame: (header, payload) => socket()?.sendFrame(header, payload),
        get isOpen() { return socket()?.isOpen ?? false; },
        get bufferedAmount() { return socket()?.bufferedAmount ?? 0; },
      }
      : socket;
    this.container = container;
    this.agentName = name;
    this.onNote = onNote;
    this.streamId = streamId;
    this.capture = capture;
    this.support = voiceSupport();
    this.enabled = false;
    // Customer: "off", "asking", "starting", "on", "refused", "unavailable". Agent: "off", "starting", "on", "unavailable".
    this.state = this.available ? "off" : "unavailable";
    this.sender = null;
    this.micProblem = null;
    this.generation = 0;
    this.players = new Map();
    // The peer's stream ids announced as opus: their stop/pause/resume are voice business.
    this.audioIds = new Set();
    this.peerText = "";
    this.peerGranted = false;
    // What the other side decodes (§5.1): only a peer that lists opus is sent voice.
    this.peerCodecs = null;
    this.pttMode = false;
    this.pttHeld = false;
    this.stopped = false;
    this.build();
    this.listen();
    this.render();
    this.timer = setInterval(() => this.refresh(), 250);
  }

  /** Whether this side can take part at all: the agent must hear, the customer must be able to talk. */
  get available() {
    return this.role === "agent" ? this.support.play : this.support.capture;
  }

  /** Whether the other side decodes Opus (its hello's `codecs`, §5.1). */
  get peerHears() {
    return this.peerCodecs?.includes("opus") === true;
  }

  /** The peer's codec list from a broker message; a message without one means images only. */
  learnCodecs(message) {
    this.peerCodecs = Array.isArray(message.codecs) ? message.codecs : null;
    // A new client on the other side that cannot play Opus: no point in sending it.
    if (this.sender && !this.peerHears) this.stopMicrophone({ announce: true });
  }

  /** The other side, to start a sentence with. */
  get who() {
    return this.role === "customer" ? (this.agentName || "Your agent") : "The customer";
  }

  /** The other side, inside a sentence. */
  get whom() {
    return this.role === "customer" ? (this.agentName || "your agent") : "the customer";
  }

  // ---- DOM ----------------------------------------------------------------------------------

  build() {
    const $ = {};
    const button = (id, text, extra = {}) => ($[id] = element("button", { id, type: "button", text, ...extra }));
    this.$ = $;
    $.status = element("p", { id: "voice-status", role: "status" });
    $.peer = element("p", { id: "voice-peer" });
    $.stats = element("p", { id: "voice-stats", class: "stats", "aria-live": "off" });
    $.level = element("meter", { id: "voice-level", min: "0", max: "1", low: "0.05", high: "0.5", value: "0", "aria-label": "Voice level" });
    $.sendStats = element("p", { id: "voice-send-stats", class: "stats" });
    const heading = element("h2", { text: "Voice" });
    if (this.role === "agent") {
      $.pttMode = element("input", { id: "voice-ptt-mode", type: "checkbox" });
      $.pttLabel = element("label", { id: "voice-ptt-label" }, [$.pttMode, " Push to talk"]);
      const buttons = element("div", { class: "buttons" }, [
        button("voice-start", "Start voice", { class: "primary" }), button("voice-end", "End voice"),
        button("voice-mute", "Mute", { "aria-pressed": "false" }), $.pttLabel, button("voice-ptt", "Hold to talk (Space)"),
        button("voice-play", "Play sound"),
      ]);
      this.container.replaceChildren(heading, $.status, buttons, $.peer, $.level, $.stats, $.sendStats);
    } else {
      $.question = element("p", { id: "voice-question" });
      $.ask = element("div", { id: "voice-ask" }, [
        $.question,
        element("div", { class: "buttons" }, [button("voice-allow", "Allow", { class: "primary" }), button("voice-refuse", "No thanks")]),
      ]);
      const buttons = element("div", { class: "buttons" }, [
        button("voice-mute", "Mute", { "aria-pressed": "false" }), button("voice-stop", "Stop talking"), button("voice-play", "Play sound"),
      ]);
      this.container.replaceChildren(heading, $.status, $.ask, buttons, $.peer, $.level, $.stats, $.sendStats);
    }
    // Hidden until there is someone to talk to (agent) or the agent turned voice on (customer).
    this.container.hidden = true;
  }

  listen() {
    const $ = this.$;
    $["voice-mute"].addEventListener("click", () => this.toggleMute());
    $["voice-play"].addEventListener("click", () => unlockAudio());
    if (this.role === "agent") {
      $["voice-start"].addEventListener("click", () => this.startVoice());
      $["voice-end"].addEventListener("click", () => this.endVoice());
      $.pttMode.addEventListener("change", () => this.setPttMode($.pttMode.checked));
      const ptt = $["voice-ptt"];
      ptt.addEventListener("pointerdown", (event) => {
        ptt.setPointerCapture(event.pointerId);
        this.setPtt(true);
      });
      for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) ptt.addEventListener(type, () => this.setPtt(false));
    } else {
      $["voice-allow"].addEventListener("click", () => this.allow());
      $["voice-refuse"].addEventListener("click", () => this.refuse());
      $["voice-stop"].addEventListener("click", () => this.stopTalking());
    }
    // Autoplay: any click or key on the page may start the sound.
    this.onGesture = () => {
      if (this.players.size > 0 || this.enabled) unlockAudio();
    };
    this.onKeyDown = (event) => {
      if (!this.pttMode || event.code !== "Space" || typing(event.target)) return;
      event.preventDefault();
      if (!this.pttHeld) this.setPtt(true);
    };
    this.onKeyUp = (event) => {
      if (event.code !== "Space" || !this.pttHeld) return;
      event.preventDefault();
      this.setPtt(false);
    };
    this.onBlur = () => this.setPtt(false);
    document.addEventListener("pointerdown", this.onGesture, true);
    document.addEventListener("keydown", this.onGesture, true);
    document.addEventListener("keydown", this.onKeyDown);
    document.addEventListener("keyup", this.onKeyUp);
    window.addEventListener("blur", this.onBlur);
  }

  /** Shows the state: buttons, texts and the data attributes tests read. */
  render() {
    const $ = this.$;
    const sending = this.sender?.active === true;
    const muted = sending && (this.sender.muted || !this.sender.talking);
    const dataset = this.container.dataset;
    dataset.voice = this.state === "starting" ? (this.role === "agent" ? "on" : "asking") : this.state;
    dataset.muted = String(muted);
    dataset.hearing = String(this.players.size > 0);
    $["voice-mute"].hidden = !sending || (this.role === "agent" && this.pttMode);
    setText($["voice-mute"], this.sender?.muted ? "Unmute" : "Mute");
    $["voice-mute"].setAttribute("aria-pressed", String(this.sender?.muted === true));
    $["voice-play"].hidden = !(this.enabled || this.players.size > 0) || typeof AudioContext !== "function" || audioContext().state === "running";
    if (this.role === "agent") {
      $["voice-start"].hidden = this.enabled;
      $["voice-start"].disabled = !this.available;
      $["voice-end"].hidden = !this.enabled;
      $.pttLabel.hidden = !sending;
      $["voice-ptt"].hidden = !sending || !this.pttMode;
      $["voice-ptt"].setAttribute("aria-pressed", String(this.pttHeld));
    } else {
      $.ask.hidden = !["asking", "refused"].includes(this.state);
      $["voice-refuse"].hidden = this.state !== "asking";
      setText($["voice-allow"], this.state === "asking" ? "Allow" : "Use my microphone");
      setText($.question, this.state === "asking"
        ? `${this.who} would like to talk with you. Use your microphone?`
        : "You can turn your microphone on at any time.");
      $["voice-stop"].hidden = !sending;
    }
    setText($.status, this.statusText(sending, muted));
    setText($.peer, this.peerText);
    $.peer.hidden = !this.peerText;
  }

  statusText(sending, muted) {
    const mic = !sending ? "" : this.sender.muted ? " Your microphone is muted." : muted ? " Hold the button or Space to talk." : " Your microphone is on.";
    // Heard, and not paused (muted) by the peer.
    const playing = [...this.players.values()].some((player) => !player.paused);
    if (this.role === "agent") {
      switch (this.state) {
        case "unavailable": return "Voice is not available in this browser.";
        case "off": return "Voice is off. The customer is asked before their microphone is used.";
        case "starting": return "Voice is on. Starting your microphone…";
        default:
          if (!sending && !this.peerHears) return "Voice is on. The customer's browser cannot play voice, so your microphone stays off.";
          if (!sending) return `Voice is on, but your microphone could not be started${this.micProblem ? ` (${this.micProblem})` : ""}. You can still hear the customer.`;
          return `Voice is on.${mic}`;
      }
    }
    const hearing = playing ? `${this.who} is talking with you — voice on.` : "";
    switch (this.state) {
      case "unavailable": {
        const why = this.support.capture && !this.peerHears
          ? `${this.who}'s browser cannot play your voice, so your microphone stays off.`
          : "Voice is not available in this browser for your microphone.";
        if (!this.enabled) return "Voice is not available in this browser.";
        return this.support.play ? `${why} You can still hear ${this.whom}.` : why;
      }
      case "off": return this.peerText ? "" : "Voice is off.";
      case "asking": return hearing;
      case "starting": return "Starting your microphone…";
      case "on": return `${hearing || "Voice is on."}${mic}`;
      default: {
        const off = `Your microphone is off${this.micProblem ? ` (${this.micProblem})` : ""}.`;
        if (playing) return `${this.who} is talking with you. ${off}`;
        return this.support.play ? `${off} You can still hear ${this.whom}.` : off;
      }
    }
  }

  /** Stats and data attributes, four times a second. */
  refresh() {
    const $ = this.$;
    const player = [...this.players.values()].at(-1);
    if (player) {
      const stats = player.stats();
      const data = $.stats.dataset;
      data.latencyMs = stats.latencyMs ?? "";
      data.depthMs = stats.depthMs ?? "";
      data.targetMs = stats.targetMs;
      data.level = stats.level;
      data.peakHz = stats.peakHz;
      data.packets = stats.packets;
      data.lost = stats.lost;
      data.late = stats.late;
      data.silenceMs = stats.silenceMs;
      $.level.value = Math.min(1, stats.level * 4);
      const from = this.role === "agent" ? "Customer's voice" : `${this.who}'s voice`;
      const text = stats.failed
        ? `${from} cannot be played in this browser.`
        : stats.suspended
          ? `${from}: press Play sound to hear it.`
          : `${from}: ${stats.latencyMs ?? "–"} ms delay · buffer ${stats.depthMs ?? "–"} ms · ${stats.lost} lost, ${stats.late} late`;
      setText($.stats, text);
    } else {
      // The attributes describe the stream being played; none now.
      for (const key of Object.keys($.stats.dataset)) delete $.stats.dataset[key];
      setText($.stats, "");
      $.level.value = 0;
    }
    $.level.hidden = !player;
    $.stats.hidden = !player;
    if (this.sender?.active) {
      const stats = this.sender.stats();
      this.container.dataset.sent = stats.sent;
      $.sendStats.dataset.sent = stats.sent;
      $.sendStats.dataset.dropped = stats.dropped;
      $.sendStats.dataset.kbps = stats.kbps;
      setText($.sendStats, `Sending ${stats.packetsPerSecond} packets/s, ${stats.kbps} kbit/s${stats.dropped ? ` (${stats.dropped} dropped)` : ""}`);
      $.sendStats.hidden = false;
    } else {
      $.sendStats.hidden = true;
    }
    // The Play sound button depends on the context's state, which changes without a message.
    this.render();
  }

  note(text) {
    this.onNote?.(text);
  }

  // ---- messages -----------------------------------------------------------------------------

  /**
   * Call with every control message the page receives. Returns true when the message was
   * only about voice (the page need not look at it), false otherwise.
   */
  handle(message) {
    if (this.stopped) return false;
    switch (message.type) {
      case "session.joined":
      case "session.resumed":
        if (this.role === "customer" && message.agent) this.agentName = message.agent;
        // While the peer is away a resume brings no list: keep what we knew.
        if (message.type === "session.joined" || message.codecs || message.peerPresent) this.learnCodecs(message);
        if (this.role === "agent" && (message.type === "session.joined" || message.peerPresent)) this.container.hidden = false;
        // A new connection: announce the microphone again (it replaces the announcement, §5.9).
        if (message.type === "session.resumed" && this.sender?.active) this.sender.announce();
        this.render();
        return false;
      case "peer.joined":
      case "session.assigned":
        this.learnCodecs(message);
        if (this.role === "agent") this.container.hidden = false;
        this.render();
        return false;
      case "peer.back":
        if (message.codecs) this.learnCodecs(message);
        this.render();
        return false;
      case "session.transferred":
        if (message.state === "completed" && this.role === "customer") {
          if (message.agent) this.agentName = message.agent;
          this.learnCodecs(message);
          // A transfer turns voice off (the broker also sends voice off, §5.14); the new agent asks again.
          this.voiceOff({ announce: false });
          this.peerText = "";
          this.render();
        }
        return false;
      case "voice":
        if (message.enabled) this.voiceOn();
        else {
          this.voiceOff({ announce: false });
          this.peerText = this.role === "customer" ? `${this.who} ended the voice call.` : "Voice is off.";
          this.render();
        }
        return true;
      case "consent":
        if (message.source !== "microphone") return false;
        if (this.role === "agent") {
          this.peerText = message.granted
            ? "The customer allowed the microphone."
            : this.peerGranted ? "The customer turned their microphone off." : "The customer declined the microphone.";
          this.peerGranted = message.granted;
          this.container.dataset.peerConsent = String(message.granted);
          this.note(this.peerText);
          this.render();
        }
        return true;
      case "stream.start":
        if (message.owner === this.role) return message.codec === "opus";
        if (message.codec !== "opus") {
          // The id is reused for video: no longer ours.
          this.audioIds.delete(message.streamId);
          return false;
        }
        this.audioIds.add(message.streamId);
        this.startPlayer(message);
        return true;
      case "stream.stop":
      case "stream.pause":
      case "stream.resume": {
        if (message.owner === this.role || !this.audioIds.has(message.streamId)) return false;
        const player = this.players.get(message.streamId);
        if (message.type === "stream.stop") {
          this.audioIds.delete(message.streamId);
          player?.close();
          this.players.delete(message.streamId);
          if (this.role === "agent") this.peerText = this.peerGranted ? "The customer's microphone stopped." : this.peerText;
        } else if (message.type === "stream.pause") {
          player?.pause();
          this.peerText = `${this.who} muted their microphone.`;
        } else {
          player?.resume();
          this.peerText = this.role === "agent" ? "The customer is talking." : "";
        }
        this.render();
        return true;
      }
      case "stream.control":
        // Nothing to adjust on a voice stream; requests for it end here.
        return this.sender !== null && message.streamId === this.streamId;
      case "session.ended":
        this.stop();
        return false;
      case "error":
        if (message.code === "voice-off") {
          this.voiceOff({ announce: false });
          this.peerText = "The service says voice is off for this session.";
          this.render();
          return true;
        }
        if (message.code === "consent-required" && this.role === "customer" && this.sender) {
          this.stopMicrophone({ announce: false });
          this.micProblem = "the service did not accept it";
          this.state = "refused";
          this.render();
        }
        return false;
      default:
        return false;
    }
  }

  /** Call with every received frame. Returns true when it was an Opus frame (played or ignored). */
  onFrame(frame) {
    if (frame.codec !== "opus") return false;
    // Frames of a stream never announced are ignored (§5.9).
    this.players.get(frame.streamId)?.push(frame);
    return true;
  }

  // ---- actions ------------------------------------------------------------------------------

  voiceOn() {
    this.enabled = true;
    this.container.hidden = false;
    if (this.role === "agent") {
      if (this.state === "off") this.state = "on";
    } else if (!this.support.capture || !this.peerHears) {
      // Nothing to ask (this browser cannot send, or the agent's cannot play): say no at once.
      this.socket.send({ type: "consent", granted: false, source: "microphone" });
      this.state = "unavailable";
    } else if (!["asking", "starting", "on", "refused"].includes(this.state)) {
      this.state = "asking";
      this.peerText = "";
      this.note(`${this.who} would like to talk with you.`);
    }
    unlockAudio();
    this.render();
  }

  voiceOff({ announce }) {
    this.enabled = false;
    this.stopMicrophone({ announce });
    this.closePlayers();
    this.state = this.available ? "off" : "unavailable";
    this.micProblem = null;
    this.peerGranted = false;
    delete this.container.dataset.peerConsent;
  }

  /** Agent: turn voice on for the session and start the microphone. */
  async startVoice() {
    unlockAudio();
    if (this.enabled || !this.available) return;
    this.enabled = true;
    this.peerText = "Waiting for the customer to allow their microphone…";
    this.socket.send({ type: "voice", enabled: true });
    this.state = "starting";
    this.render();
    // A customer whose browser cannot play Opus is sent none (§5.1); it may still talk.
    if (this.peerHears && await this.openMicrophone()) {
      this.sender.start();
      if (this.pttMode) this.sender.setTalking(false);
    }
    if (this.enabled) this.state = "on";
    this.render();
  }

  /** Agent: turn voice off (the broker stops the customer's audio too). */
  endVoice() {
    if (!this.enabled) return;
    // stream.stop first: after the voice message the stream is gone already.
    this.stopMicrophone({ announce: true });
    this.socket.send({ type: "voice", enabled: false });
    this.voiceOff({ announce: false });
    this.peerText = "";
    this.render();
  }

  /** Customer: yes to the microphone. */
  async allow() {
    unlockAudio();
    if (!this.enabled || this.sender) return;
    this.state = "starting";
    this.micProblem = null;
    this.render();
    const generation = this.generation;
    if (await this.openMicrophone()) {
      this.socket.send({ type: "consent", granted: true, source: "microphone" });
      this.sender.start();
      this.state = "on";
      this.note(`You are talking with ${this.whom}.`);
    } else if (this.enabled && generation + 1 === this.generation) {
      this.socket.send({ type: "consent", granted: false, source: "microphone" });
      this.state = this.micProblem === "NotSupportedError" ? "unavailable" : "refused";
    }
    this.render();
  }

  /** Customer: no to the microphone (the agent's voice still plays). */
  refuse() {
    unlockAudio();
    if (!this.enabled) return;
    this.socket.send({ type: "consent", granted: false, source: "microphone" });
    this.state = "refused";
    this.render();
  }

  /** Customer: stop the microphone after allowing it. */
  stopTalking() {
    if (!this.sender) return;
    // stream.stop first, so the consent withdrawal finds nothing left to stop.
    this.stopMicrophone({ announce: true });
    this.socket.send({ type: "consent", granted: false, source: "microphone" });
    this.state = "refused";
    this.render();
  }

  toggleMute() {
    if (!this.sender?.active) return;
    if (this.sender.muted) this.sender.unmute();
    else this.sender.mute();
    this.render();
  }

  setPttMode(on) {
    this.pttMode = on;
    this.pttHeld = false;
    if (this.$.pttMode) this.$.pttMode.checked = on;
    if (on) this.sender?.unmute();
    this.sender?.setTalking(!on);
    this.render();
  }

  setPtt(held) {
    if (!this.pttMode || this.pttHeld === held) return;
    this.pttHeld = held;
    this.sender?.setTalking(held);
    this.render();
  }

  /** getUserMedia and the encoder; false (and micProblem set) when they fail. */
  async openMicrophone() {
    this.generation += 1;
    const generation = this.generation;
    const sender = new VoiceSender(this.socket, { streamId: this.streamId, capture: this.capture, onEnded: () => this.microphoneEnded(sender) });
    try {
      await sender.open();
    } catch (error) {
      sender.stop({ announce: false });
      if (generation === this.generation) this.micProblem = error.name;
      console.warn("Tandem voice: no microphone", error.name, error.message);
      return false;
    }
    // Voice was turned off (or the page left) while the browser was asking.
    if (generation !== this.generation || !this.enabled) {
      sender.stop({ announce: false });
      return false;
    }
    this.sender = sender;
    return true;
  }

  stopMicrophone({ announce }) {
    this.generation += 1;
    this.sender?.stop({ announce });
    this.sender = null;
    this.pttHeld = false;
  }

  // The device went away (unplugged, revoked).
  microphoneEnded(sender) {
    if (sender !== this.sender) return;
    this.stopMicrophone({ announce: true });
    this.micProblem = "it stopped";
    if (this.role === "customer") {
      this.socket.send({ type: "consent", granted: false, source: "microphone" });
      this.state = "refused";
    }
    this.render();
  }

  startPlayer(message) {
    this.players.get(message.streamId)?.close();
    this.players.delete(message.streamId);
    if (!this.support.play) return;
    try {
      this.players.set(message.streamId, new VoicePlayer(message, audioContext()));
    } catch (error) {
      console.warn("Tandem voice: cannot play", error.message);
      return;
    }
    if (this.role === "agent") this.peerText = "The customer is talking.";
    else this.container.hidden = false;
    this.render();
  }

  closePlayers() {
    for (const player of this.players.values()) player.close();
    this.players.clear();
  }

  /** The session ended or the page leaves: everything off, no messages sent. */
  stop() {
    if (this.stopped) return;
    this.voiceOff({ announce: false });
    this.stopped = true;
    clearInterval(this.timer);
    document.removeEventListener("pointerdown", this.onGesture, true);
    document.removeEventListener("keydown", this.onGesture, true);
    document.removeEventListener("keydown", this.onKeyDown);
    document.removeEventListener("keyup", this.onKeyUp);
    window.removeEventListener("blur", this.onBlur);
    closeAudio();
    this.container.hidden = true;
    this.container.dataset.voice = "off";
    this.container.dataset.muted = "false";
    this.container.dataset.hearing = "false";
  }
}
