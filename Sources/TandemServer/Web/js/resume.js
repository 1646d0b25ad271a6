// Reconnecting after a dropped connection (protocol/README.md §5.13): the resume token is kept
// in sessionStorage (this tab only), and reconnects back off from 0.5 s up to the grace period.

const GRACE_MS = 60_000;

export class Resumer {
  constructor(key) {
    this.key = `tandem.resume.${key}`;
    this.timer = null;
    this.deadline = 0;
    this.attempt = 0;
  }

  get token() {
    return sessionStorage.getItem(this.key);
  }

  remember(token) {
    if (token) sessionStorage.setItem(this.key, token);
  }

  forget() {
    sessionStorage.removeItem(this.key);
    clearTimeout(this.timer);
  }

  /** Schedules `retry()` with back-off; returns false once the grace period is over. */
  schedule(retry) {
    const now = Date.now();
    if (this.attempt === 0) this.deadline = now + GRACE_MS;
    if (now >= this.deadline || !this.token) return false;
    const delay = Math.min(500 * 2 ** this.attempt, 8000, this.deadline - now);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(retry, delay);
    return true;
  }

  /** A resume succeeded. */
  done() {
    this.attempt = 0;
    clearTimeout(this.timer);
  }
}
