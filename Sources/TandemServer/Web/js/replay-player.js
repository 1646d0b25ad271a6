// The recording player (protocol/README.md §19), shared by the player page /replay and the
// auditors' page /audit: plays one picture stream of a .tdrec recording — images, or video
// decoded with WebCodecs (§4.1) — with its overlay as it was at each moment, with the live
// pages' drawing code, and the recorded voice along at 1×. The page gives it its elements and
// the recording's bytes; nothing is uploaded.
import { CODEC_STRINGS, isVideoCodec } from "./codecs.js";
import { FrameView } from "./frame-view.js";
import { ReplayAudio } from "./replay-audio.js";
import { catchUpPlan, describeStream, parseRecording, streamsOf } from "./replay-file.js";

// Longest wait between two entries: a quiet stretch of the session is skipped over.
const MAX_GAP_MS = 2000;
// Frames left in the video decoder before the player waits for it (StreamDecoder drops past 3).
const MAX_BACKLOG = 2;
// How long the player waits for a stuck decoder before it feeds it anyway.
const MAX_DECODER_WAIT_MS = 250;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A player on the page's elements `el`: {view, overlay (canvases), stream, speed (selects),
 * streamInfo, clock, audioNote (text), mute (checkbox), muteLabel, play (button), position
 * (range)}. `setState(state, text)` reports where it is (ready, playing, paused, seeking,
 * ended, error) with a sentence for people (or none); `data` (a dataset) gets `entries`,
 * `position`, `codec`, `audio` and `voicePlayed` for tests. Returns {load(buffer, name), stop()}.
 */
export function createPlayer(el, { setState, data }) {
  const view = new FrameView(el.view, el.overlay);
  let entries = [];
  let streams = new Map();
  let audio = new ReplayAudio();
  let index = 0;
  let playing = false;
  let timer = null;
  let rate = Number(el.speed.value);
  // The entry time (µs) `time` is due at performance.now() `wall`; rebased on pauses, seeks, speed changes.
  let base = { wall: 0, time: 0 };
  let waitingSince = null;
  // Every seek bumps it: a catch-up still decoding for an older one gives up.
  let generation = 0;
  let seeking = false;
  let playAfterSeek = false;
  let codec = null;

  const selectedKey = () => el.stream.value;
  const isSelectedVideo = (entry) => entry.kind === "media" && entry.key === selectedKey() && isVideoCodec(entry.frame.codec);

  /** Frames waiting in the view's video decoder (0 for images or without WebCodecs). */
  function backlog() {
    return view.decoder?.decoder?.decodeQueueSize ?? 0;
  }

  /** Applies one entry: the selected stream's frames and overlay to the view, voice to the speakers. */
  function apply(entry) {
    const key = entry.key;
    if (entry.kind === "media") {
      if (key === selectedKey()) view.showFrame(entry.frame.sequence, entry.frame);
      else if (streams.get(key)?.audio) audio.push(key, entry.frame);
      return;
    }
    const message = entry.message;
    if (key !== selectedKey()) {
      if (message.type === "stream.start" && message.codec === "opus") audio.announce(key, message);
      if (message.type === "stream.stop" && streams.get(key)?.audio) audio.close(key);
      return;
    }
    switch (message.type) {
      case "stream.start":
        // The stream's codec and decoder configuration from now on (§5.9); a video decoder waits for a keyframe.
        view.startStream(message);
        codec = message.codec;
        showStream();
        break;
      case "stream.stop": view.stopStream(); break;
      case "annotation": view.overlay.apply(message, message.author ?? entry.owner); break;
      case "overlay.snapshot": view.overlay.load(message); break;
      // The publisher's scene tracking (§5.15): anchored shapes follow the frames as they did live.
      case "track": view.overlay.applyTrack(message); break;
      case "freeze": view.freeze(message.sequence); break;
      case "unfreeze": view.unfreeze(); break;
    }
  }

  function clock(micros) {
    const seconds = Math.max(0, Math.round(micros / 1e6));
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function showPosition() {
    const first = entries[0]?.time ?? 0;
    const last = entries[entries.length - 1]?.time ?? 0;
    const now = entries[Math.min(index, entries.length - 1)]?.time ?? first;
    el.position.value = String(index);
    el.clock.textContent = `${clock(now - first)} / ${clock(last - first)}`;
    data.position = String(index);
    data.voicePlayed = String(audio.playedCount);
  }

  /** The selected stream's codec and size, and whether this browser decodes it. */
  function showStream() {
    const stream = streams.get(selectedKey());
    data.codec = codec ?? "";
    if (!stream) {
      el.streamInfo.textContent = "";
      return;
    }
    const size = stream.width > 0 ? ` ${stream.width}×${stream.height}` : "";
    const text = `${codec ?? stream.codec}${size}`;
    el.streamInfo.textContent = text;
    if (!isVideoCodec(codec)) return;
    const config = { codec: stream.start?.decoderConfig?.codec ?? CODEC_STRINGS[codec] };
    const check = typeof VideoDecoder === "function" ? VideoDecoder.isConfigSupported(config).then((result) => result.supported, () => false) : Promise.resolve(false);
    check.then((supported) => {
      if (!supported && el.streamInfo.textContent === text) el.streamInfo.textContent = `${text} — this browser cannot decode it`;
    });
  }

  /** Sound only while playing at 1× and not muted (§5.14); the page says why not otherwise. */
  function updateAudio() {
    const reason = !audio.present ? "none" : !audio.supported ? "unsupported" : el.mute.checked ? "muted" : rate !== 1 ? "speed" : "on";
    audio.setEnabled(playing && reason === "on");
    data.audio = reason;
    el.muteLabel.hidden = !audio.present;
    el.audioNote.textContent = {
      none: "", unsupported: "This browser cannot play the recorded voice.", muted: "Voice muted.",
      speed: "Voice plays at 1× only: muted at this speed.", on: "Voice plays along.",
    }[reason];
  }

  const dueOf = (entry) => base.wall + (entry.time - base.time) / 1000 / rate;

  function rebase(wall = performance.now()) {
    if (index < entries.length) base = { wall, time: entries[index].time };
  }

  /** Applies every entry that is due, keeping the recorded spacing (divided by the speed). */
  function run() {
    timer = null;
    if (!playing) return;
    const now = performance.now();
    while (index < entries.length) {
      const entry = entries[index];
      const due = dueOf(entry);
      if (due > now) break;
      // The decoder is behind (fast speed, big picture): wait for it rather than lose frames to the next keyframe.
      if (isSelectedVideo(entry) && backlog() > MAX_BACKLOG && now - (waitingSince ??= now) < MAX_DECODER_WAIT_MS) {
        rebase(now + 4);
        break;
      }
      waitingSince = null;
      apply(entry);
      index += 1;
      const next = entries[index];
      if (next && dueOf(next) - due > MAX_GAP_MS) base = { wall: due + MAX_GAP_MS, time: next.time };
    }
    showPosition();
    if (index >= entries.length) {
      halt();
      setState("ended", `Played ${entries.length} entries.`);
      return;
    }
    timer = setTimeout(run, Math.max(0, dueOf(entries[index]) - performance.now()));
  }

  function halt() {
    playing = false;
    clearTimeout(timer);
    timer = null;
    el.play.textContent = "Play";
    updateAudio();
  }

  function play() {
    if (index >= entries.length) {
      playAfterSeek = true;
      seek(0);
      return;
    }
    playing = true;
    el.play.textContent = "Pause";
    setState("playing", "Playing…");
    rebase();
    updateAudio();
    run();
  }

  function clearPicture() {
    const canvas = el.view;
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  }

  /** Waits until the video decoder has room for one more frame. */
  async function drained(mine) {
    const started = performance.now();
    while (backlog() > MAX_BACKLOG && mine === generation && performance.now() - started < MAX_DECODER_WAIT_MS) {
      const decoder = view.decoder.decoder;
      await new Promise((resolve) => {
        decoder.addEventListener("dequeue", resolve, { once: true });
        setTimeout(resolve, 20);
      });
    }
  }

  /** Waits (a moment at most) until frame `sequence` is on the canvas. Not flush(): after it VP8 wants a keyframe. */
  async function shown(mine, sequence) {
    const started = performance.now();
    while (sequence !== null && view.shownSequence !== sequence && mine === generation && performance.now() - started < 1000) await sleep(5);
  }

  /**
   * Shows the moment before entry `target`: the overlay rebuilt from the start, the picture
   * decoded from the last keyframe before it (drawn quickly on the way); then plays on if it was playing.
   */
  async function seek(target) {
    playAfterSeek ||= playing;
    halt();
    const mine = ++generation;
    seeking = true;
    setState("seeking", "Seeking…");
    index = target;
    showPosition();
    const key = selectedKey();
    const plan = catchUpPlan(entries, key, target);
    view.unfreeze();
    view.overlay.load({ shapes: [] });
    for (let i = 0; i < plan.from; i += 1) {
      const entry = entries[i];
      if (entry.kind === "control" && !(entry.key === key && entry.message.type.startsWith("stream."))) apply(entry);
    }
    if (plan.start) view.startStream(plan.start);
    else view.stopStream();
    codec = plan.start?.codec ?? streams.get(key)?.codec ?? null;
    showStream();
    if (plan.from === target) clearPicture();
    let lastFed = null;
    for (let i = plan.from; i < target; i += 1) {
      const entry = entries[i];
      if (isSelectedVideo(entry)) await drained(mine);
      // A freeze keeps the picture on the canvas: the frozen frame must be drawn first.
      if (entry.key === key && entry.kind === "control" && entry.message.type === "freeze") await shown(mine, lastFed);
      if (mine !== generation) return;
      if (entry.kind === "media" && entry.key === key) lastFed = entry.frame.sequence;
      if (entry.key === key || entry.kind === "control") apply(entry);
    }
    if (view.overlay.frozenSequence === null) await shown(mine, lastFed);
    if (mine !== generation) return;
    seeking = false;
    showPosition();
    if (playAfterSeek) {
      playAfterSeek = false;
      play();
    } else {
      setState("paused", `Paused at ${el.clock.textContent}.`);
    }
  }

  /** Stops playing, and any seek under way. */
  function stop() {
    halt();
    generation += 1;
    seeking = playAfterSeek = false;
  }

  /** Reads a recording (the bytes of a .tdrec file called `name`) and shows its first moment. */
  function load(buffer, name) {
    stop();
    let parsed;
    try {
      parsed = parseRecording(buffer);
    } catch (error) {
      entries = [];
      setState("error", error.message);
      return false;
    }
    entries = parsed.entries;
    streams = streamsOf(entries);
    audio.closeAll();
    audio = new ReplayAudio([...streams.values()].filter((stream) => stream.audio));
    // Pictures only: opus streams are heard, never shown.
    const visual = [...streams.values()].filter((stream) => stream.visual);
    el.stream.replaceChildren(...visual.map((stream) => {
      const option = document.createElement("option");
      option.value = stream.key;
      option.textContent = describeStream(stream);
      return option;
    }));
    el.stream.disabled = visual.length === 0;
    el.play.disabled = entries.length === 0;
    el.position.max = String(Math.max(0, entries.length - 1));
    el.position.disabled = entries.length === 0;
    data.entries = String(entries.length);
    view.stopStream();
    view.unfreeze();
    view.overlay.load({ shapes: [] });
    clearPicture();
    index = 0;
    codec = visual[0]?.codec ?? null;
    showPosition();
    showStream();
    updateAudio();
    const count = (test) => entries.filter(test).length;
    const frames = count((entry) => entry.kind === "media" && streams.get(entry.key)?.visual);
    const packets = count((entry) => entry.kind === "media" && streams.get(entry.key)?.audio);
    const skipped = parsed.skipped ? `, ${parsed.skipped} entries of codecs or messages this page does not know (skipped)` : "";
    const voice = packets ? `, ${packets} voice packets` : "";
    setState("ready", `${name}: ${frames} frames${voice}, ${entries.length - frames - packets} annotations and stream events${skipped}. Press Play.`);
    return true;
  }

  el.play.addEventListener("click", () => {
    // Sound needs a click to start; the catch-up of a seek may take longer than the click counts.
    if (!el.mute.checked) audio.unlock();
    if (seeking) {
      playAfterSeek = !playAfterSeek;
      el.play.textContent = playAfterSeek ? "Pause" : "Play";
    } else if (playing) {
      halt();
      setState("paused", "Paused.");
    } else {
      play();
    }
  });
  el.stream.addEventListener("change", () => seek(index));
  el.position.addEventListener("input", () => seek(Number(el.position.value)));
  el.speed.addEventListener("change", () => {
    const now = performance.now();
    // The recording's clock goes on from where it is, at the new pace.
    base = { wall: now, time: base.time + (now - base.wall) * 1000 * rate };
    rate = Number(el.speed.value);
    if (playing) {
      clearTimeout(timer);
      run();
    }
    updateAudio();
  });
  el.mute.addEventListener("change", updateAudio);

  return { load, stop };
}
