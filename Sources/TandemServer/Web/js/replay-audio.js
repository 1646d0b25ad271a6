// The recorded voice of the player page (protocol/README.md §5.14, §19): each opus stream is
// played with a VoicePlayer (its jitter buffer paces the packets the player hands it at the
// recorded pace). Only at 1× and not muted: faster, the sound would be garbage.
import { VoicePlayer, unlockAudio, voiceSupport } from "./voice.js";

export class ReplayAudio {
  /** `streams`: the recording's audio streams (replay-file.js streamsOf). */
  constructor(streams = []) {
    this.announced = new Map(streams.map((stream) => [stream.key, stream.start ?? { owner: stream.owner, streamId: stream.streamId }]));
    this.players = new Map();
    this.enabled = false;
    this.pushed = 0;
    this.played = 0;
  }

  get present() {
    return this.announced.size > 0;
  }

  get supported() {
    return voiceSupport().play;
  }

  /** Lets the page make sound: call from a click (autoplay rules). */
  unlock() {
    if (this.present && this.supported) unlockAudio();
  }

  /** Plays what is pushed from now on, or stops at once (scheduled sound too). */
  setEnabled(on) {
    const enabled = on && this.present && this.supported;
    if (!enabled) this.closeAll();
    this.enabled = enabled;
  }

  /** A stream.start of an audio stream: its decoder configuration from now on. */
  announce(key, message) {
    this.announced.set(key, message);
    this.close(key);
  }

  /** One recorded opus frame of stream `key`, at its recorded moment. */
  push(key, frame) {
    if (!this.enabled) return;
    let player = this.players.get(key);
    if (!player) {
      player = new VoicePlayer(this.announced.get(key) ?? {});
      this.players.set(key, player);
    }
    this.pushed += 1;
    player.push(frame);
  }

  /** Packets scheduled to play so far (dropped and late ones not counted). */
  get playedCount() {
    let count = this.played;
    for (const player of this.players.values()) count += player.played;
    return count;
  }

  close(key) {
    const player = this.players.get(key);
    if (!player) return;
    this.played += player.played;
    player.close();
    this.players.delete(key);
  }

  closeAll() {
    for (const key of [...this.players.keys()]) this.close(key);
  }
}
