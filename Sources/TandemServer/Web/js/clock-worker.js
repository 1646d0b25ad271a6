// The timer behind clock.js, in a dedicated worker: browsers slow down a hidden page's timers
// (to about once a second), not a worker's. Each message is a delay in ms; it answers when due.
let timer = null;
self.onmessage = (event) => {
  clearTimeout(timer);
  if (event.data >= 0) timer = setTimeout(() => self.postMessage(0), event.data);
};
