// The recording player page, /replay (protocol/README.md §19): reads a .tdrec file chosen by
// the user (nothing is uploaded) and plays it with the shared player (replay-player.js): one
// picture stream — images, or video decoded with WebCodecs (§4.1) — with its overlay as it
// was at each moment, and the recorded voice along at 1×.
import { createPlayer } from "./replay-player.js";

const $ = (id) => document.getElementById(id);

function setState(state, text) {
  document.body.dataset.state = state;
  if (text) $("status").textContent = text;
}

const player = createPlayer({
  view: $("view"), overlay: $("overlay"), stream: $("stream"), streamInfo: $("stream-info"), speed: $("speed"),
  mute: $("mute"), muteLabel: $("mute-label"), play: $("play"), position: $("position"), clock: $("clock"), audioNote: $("audio-note"),
}, { setState, data: document.body.dataset });

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  if (!file) return;
  player.stop();
  player.load(await file.arrayBuffer(), file.name);
});
