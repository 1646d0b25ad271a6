// The recording player, /replay (protocol/README.md §19): reads a .tdrec file chosen by the
// user (nothing is uploaded), and plays one stream's frames with its overlay as it was at
// each moment: the same drawing code as the live pages.
import { FrameView } from "./frame-view.js";
import { decodeControl, decodeFrame } from "./protocol.js";

const $ = (id) => document.getElementById(id);
const MAGIC = [0x54, 0x44, 0x52, 0x45, 0x43, 0x01, 0x0d, 0x0a];
const view = new FrameView($("view"), $("overlay"));
let entries = [];
let timer = null;
let index = 0;

function setState(state, text) {
  document.body.dataset.state = state;
  if (text) $("status").textContent = text;
}

/** Splits a recording into entries: {kind, owner, time (µs), frame | message}. */
export function parseRecording(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || MAGIC.some((byte, i) => bytes[i] !== byte)) throw new Error("This is not a Tandem recording.");
  const view = new DataView(buffer);
  const result = [];
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
    if (kind === 1) result.push({ kind: "media", owner, time, frame: decodeFrame(payload) });
    else result.push({ kind: "control", owner, time, message: decodeControl(new TextDecoder().decode(payload)) });
    offset = start + length;
  }
  return result;
}

const streamKey = (owner, streamId) => `${owner}:${streamId}`;

function selected() {
  return $("stream").value;
}

/** Applies entry `i` to the view if it concerns the selected stream. */
function apply(entry) {
  const key = selected();
  if (entry.kind === "media") {
    if (streamKey(entry.owner, entry.frame.streamId) === key) view.showFrame(entry.frame.sequence, entry.frame);
    return;
  }
  const message = entry.message;
  const target = message.owner !== undefined && message.streamId !== undefined ? streamKey(message.owner, message.streamId) : null;
  if (target !== key) return;
  switch (message.type) {
    case "annotation": view.overlay.apply(message, message.author ?? entry.owner); break;
    case "overlay.snapshot": view.overlay.load(message); break;
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
  $("position").value = String(index);
  $("clock").textContent = `${clock(now - first)} / ${clock(last - first)}`;
  document.body.dataset.position = String(index);
}

function stop() {
  clearTimeout(timer);
  timer = null;
  $("play").textContent = "Play";
}

/** Plays from entry `index`, keeping the recorded spacing (divided by the speed). */
function play() {
  if (index >= entries.length) restartAt(0);
  $("play").textContent = "Pause";
  setState("playing", "Playing…");
  const step = () => {
    apply(entries[index]);
    index += 1;
    showPosition();
    if (index >= entries.length) {
      stop();
      setState("ended", `Played ${entries.length} entries.`);
      return;
    }
    const gap = (entries[index].time - entries[index - 1].time) / 1000 / Number($("speed").value);
    timer = setTimeout(step, Math.min(Math.max(gap, 0), 2000));
  };
  step();
}

/** Jumps to entry `target`: the overlay is rebuilt from the start, the last frame shown. */
function restartAt(target) {
  stop();
  view.overlay.load({ shapes: [] });
  view.unfreeze();
  for (index = 0; index < target; index += 1) {
    if (entries[index].kind === "control") apply(entries[index]);
  }
  const lastFrame = entries.slice(0, target).reverse().find((entry) => entry.kind === "media" && streamKey(entry.owner, entry.frame.streamId) === selected());
  if (lastFrame) apply(lastFrame);
  showPosition();
}

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  if (!file) return;
  stop();
  try {
    entries = parseRecording(await file.arrayBuffer());
  } catch (error) {
    entries = [];
    setState("error", error.message);
    return;
  }
  const streams = [...new Set(entries.filter((entry) => entry.kind === "media").map((entry) => streamKey(entry.owner, entry.frame.streamId)))];
  $("stream").replaceChildren(...streams.map((key) => {
    const option = document.createElement("option");
    option.value = key;
    option.textContent = key.replace(":", " stream ");
    return option;
  }));
  $("stream").disabled = streams.length === 0;
  $("play").disabled = entries.length === 0;
  $("position").max = String(Math.max(0, entries.length - 1));
  $("position").disabled = entries.length === 0;
  document.body.dataset.entries = String(entries.length);
  index = 0;
  showPosition();
  const frames = entries.filter((entry) => entry.kind === "media").length;
  setState("ready", `${file.name}: ${frames} frames, ${entries.length - frames} annotations and stream events. Press Play.`);
});
$("play").addEventListener("click", () => (timer ? (stop(), setState("paused", "Paused.")) : play()));
$("stream").addEventListener("change", () => restartAt(index));
$("position").addEventListener("input", () => restartAt(Number($("position").value)));
