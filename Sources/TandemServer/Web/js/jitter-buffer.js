// When each received audio packet plays (protocol/README.md §4.1, §5.9): a small adaptive
// jitter buffer for 20 ms Opus packets. Pure timing logic, no Web Audio: VoicePlayer asks
// it for a play time per decoded packet and schedules the sound itself.
//
// Packets play back to back; the first one `target` seconds after it arrived. The target
// follows the measured arrival jitter (spread of the packets' slack over the last 2 s) plus
// a margin, between minDelay and maxDelay. A packet whose slot has (nearly) passed is dropped
// and its slot stays silent; several late in a row mean the delay grew for good, and the
// schedule starts again from the packet in hand. Too much slack is trimmed by dropping one
// packet (20 ms) at a time, too little is fixed by one silent gap.

const WINDOW = 2;           // seconds of arrival history for the jitter estimate
const ADAPT_EVERY = 0.25;   // seconds between adjustments
const MARGIN = 0.02;        // slack kept above the measured spread
const HYSTERESIS = 0.015;   // how far off the target the buffer may be before it is corrected
const LATE_RESTART = 3;     // late packets in a row that restart the schedule
const CONTIGUOUS = 0.005;   // capture times this close to back to back count as contiguous
const MAX_GAP = 1;          // a longer pause (mute, reconnect) restarts the schedule

export class JitterBuffer {
  /** Times in seconds. `safety`: how far ahead of the playhead a packet must be scheduled. */
  constructor({ initialDelay = 0.06, minDelay = 0.04, maxDelay = 0.2, safety = 0.01, sampleRate = 48000 } = {}) {
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.initialDelay = initialDelay;
    this.safety = safety;
    this.sampleRate = sampleRate;
    this.target = initialDelay;
    this.counts = { played: 0, lost: 0, late: 0, old: 0, trimmed: 0, restarts: 0 };
    this.silence = 0;
    this.reset();
  }

  /** Forget the schedule (the peer paused, the audio clock stopped): the next packet starts afresh. */
  reset() {
    this.last = null;
    this.history = [];
    this.lastAdapt = -Infinity;
    this.lateStreak = 0;
  }

  /**
   * Where the packet goes. `now`: the audio clock (s); `sequence`: the frame's sequence
   * number; `captureMicros`: its capture time (µs, Number); `duration` (s).
   * Returns `{at}` (start time on the audio clock) or `{drop: "late" | "old" | "trim"}`.
   */
  place(now, sequence, captureMicros, duration) {
    const last = this.last;
    if (last === null) return this.restart(now, sequence, captureMicros, duration);
    const step = (sequence - last.sequence) >>> 0;
    // A duplicate or a packet from before the one already placed: its time is gone.
    if (step === 0 || step > 0x80000000) {
      this.counts.old += 1;
      return { drop: "old" };
    }
    const elapsed = (captureMicros - last.captureMicros) / 1e6;
    let at;
    if (step === 1 && Math.abs(elapsed - last.duration) < CONTIGUOUS) {
      at = last.at + last.duration;
    } else if (elapsed > 0 && elapsed < MAX_GAP) {
      // Lost packets or a short pause: keep the capture clock's spacing, the gap stays silent.
      // (Never earlier than the end of the previous packet: a sender's clock may step back a little.)
      this.counts.lost += step - 1;
      at = this.snap(last.at + Math.max(elapsed, last.duration));
      this.silence += Math.max(0, at - (last.at + last.duration));
    } else {
      this.counts.lost += step > 1 && step < 50 ? step - 1 : 0;
      return this.restart(now, sequence, captureMicros, duration);
    }
    const slack = at - now;
    this.remember(now, slack);
    if (slack < this.safety) {
      this.counts.late += 1;
      this.lateStreak += 1;
      if (this.lateStreak >= LATE_RESTART) return this.restart(now, sequence, captureMicros, duration, true);
      // The slot is taken (silent), so the next packet still follows it.
      this.silence += duration;
      this.last = { sequence, captureMicros, at, duration };
      return { drop: "late" };
    }
    this.lateStreak = 0;
    const shift = this.adapt(now);
    if (shift < 0) {
      // Trim: this packet is skipped and the next one takes its slot.
      this.counts.trimmed += 1;
      this.last = { sequence, captureMicros, at: at - duration, duration };
      return { drop: "trim" };
    }
    if (shift > 0) {
      at = this.snap(at + shift);
      this.silence += shift;
    }
    this.last = { sequence, captureMicros, at, duration };
    this.counts.played += 1;
    return { at };
  }

  /** Starts the schedule again with this packet; `audible`: the gap before it is a dropout, not a pause of the sender. */
  restart(now, sequence, captureMicros, duration, audible = false) {
    if (this.last !== null) this.counts.restarts += 1;
    // Late packets before a restart say how much more delay the path needs.
    this.retarget();
    const at = this.snap(now + this.target);
    if (audible && this.last !== null) this.silence += Math.max(0, at - Math.max(this.last.at + this.last.duration, now));
    this.history = [];
    this.lateStreak = 0;
    this.remember(now, at - now);
    this.last = { sequence, captureMicros, at, duration };
    this.counts.played += 1;
    return { at };
  }

  remember(now, slack) {
    this.history.push({ now, slack });
    while (this.history.length && this.history[0].now < now - WINDOW) this.history.shift();
  }

  /** Measures the spread of the recent slack; sets the target from it. Returns [most, least]. */
  retarget() {
    let most = -Infinity;
    let least = Infinity;
    for (const { slack } of this.history) {
      most = Math.max(most, slack);
      least = Math.min(least, slack);
    }
    if (this.history.length < 2) return [most, least];
    const wanted = Math.min(this.maxDelay, Math.max(this.minDelay, most - least + MARGIN));
    // Up at once (late packets hurt), down slowly (one spike should not cause a gap every time).
    this.target = wanted > this.target ? wanted : Math.max(wanted, this.target - 0.01);
    return [most, least];
  }

  /** Returns the correction to apply to the packet in hand: −1 (trim it), a positive gap, or 0. */
  adapt(now) {
    if (now - this.lastAdapt < ADAPT_EVERY || this.history.length < 10 || now - this.history[0].now < 0.5) return 0;
    this.lastAdapt = now;
    const [most] = this.retarget();
    const duration = this.last?.duration ?? 0.02;
    let shift = 0;
    if (most > this.target + HYSTERESIS && most - duration >= this.target - HYSTERESIS / 2) shift = -1;
    else if (most < this.target - HYSTERESIS) shift = this.target - most;
    if (shift !== 0) {
      const moved = shift < 0 ? -duration : shift;
      for (const entry of this.history) entry.slack += moved;
    }
    return shift;
  }

  /** Rounds to the audio clock's sample grid, so back-to-back packets meet exactly. */
  snap(time) {
    return Math.round(time * this.sampleRate) / this.sampleRate;
  }
}
