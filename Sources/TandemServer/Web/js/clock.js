// A one-shot timer for the capture loop that keeps its pace when the page is hidden: a
// customer who shares the screen usually looks at another window, and a hidden page's own
// timers fire about once a second. Falls back to setTimeout where no worker can start.

export class CaptureClock {
  constructor() {
    this.callback = null;
    this.timer = null;
    try {
      this.worker = new Worker(new URL("./clock-worker.js", import.meta.url));
      this.worker.onmessage = () => this.fire();
      this.worker.onerror = () => this.fallBack();
    } catch {
      this.worker = null;
    }
  }

  /** Calls `callback` once, `delay` ms from now; replaces what was scheduled. */
  after(delay, callback) {
    this.callback = callback;
    if (this.worker) {
      this.worker.postMessage(Math.max(0, delay));
    } else {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.fire(), delay);
    }
  }

  fire() {
    const callback = this.callback;
    this.callback = null;
    callback?.();
  }

  /** The worker could not run (e.g. refused): plain timers from now on. */
  fallBack() {
    this.worker?.terminate();
    this.worker = null;
    if (this.callback) this.after(0, this.callback);
  }

  cancel() {
    this.callback = null;
    clearTimeout(this.timer);
    this.worker?.postMessage(-1);
  }

  close() {
    this.cancel();
    this.worker?.terminate();
    this.worker = null;
  }
}
