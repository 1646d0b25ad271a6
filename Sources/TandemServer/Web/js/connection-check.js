// "Test my connection": round-trip time and throughput against the broker's /v1/echo
// (protocol/README.md §9), before or during a session. Nothing is logged by the broker.
import { ECHO_PATH } from "./protocol.js";

const PINGS = 10;
const CHUNK = 64 * 1024;
const CHUNKS = 16; // 1 MiB each way

/** Opens the echo socket; resolves when it is open. */
function openEcho() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${ECHO_PATH}`);
  socket.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    socket.onopen = () => resolve(socket);
    socket.onerror = () => reject(new Error("The connection test could not reach the support service."));
  });
}

/** Resolves with the next message on `socket`, or rejects after `ms`. */
function nextMessage(socket, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("The support service did not answer in time.")), ms);
    socket.onmessage = (event) => {
      clearTimeout(timer);
      resolve(event.data);
    };
    socket.onclose = () => {
      clearTimeout(timer);
      reject(new Error("The connection test was cut off."));
    };
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Measures the median and worst round trip of small messages, then how fast 1 MiB goes
 * to the broker and back. Resolves { rttMs, rttMaxMs, mbps, verdict }.
 */
export async function checkConnection(onProgress = () => {}) {
  const socket = await openEcho();
  try {
    const rtts = [];
    for (let i = 0; i < PINGS; i++) {
      onProgress(`Measuring round trip (${i + 1}/${PINGS})…`);
      const sent = performance.now();
      socket.send(`ping ${i}`);
      const echoed = await nextMessage(socket, 10000);
      if (echoed !== `ping ${i}`) throw new Error("The support service answered with something else.");
      rtts.push(performance.now() - sent);
    }
    onProgress("Measuring speed…");
    const chunk = new Uint8Array(CHUNK);
    for (let i = 0; i < CHUNK; i++) chunk[i] = i & 0xff;
    const started = performance.now();
    let received = 0;
    const done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("The speed test took too long.")), 60000);
      socket.onmessage = (event) => {
        const bytes = new Uint8Array(event.data);
        if (bytes.length !== CHUNK || bytes[CHUNK - 1] !== ((CHUNK - 1) & 0xff)) {
          clearTimeout(timer);
          reject(new Error("The speed test data came back damaged."));
          return;
        }
        received += 1;
        if (received === CHUNKS) {
          clearTimeout(timer);
          resolve();
        }
      };
      socket.onclose = () => {
        clearTimeout(timer);
        reject(new Error("The connection test was cut off."));
      };
    });
    for (let i = 0; i < CHUNKS; i++) socket.send(chunk);
    await done;
    const seconds = (performance.now() - started) / 1000;
    const rttMs = Math.round(median(rtts));
    const rttMaxMs = Math.round(Math.max(...rtts));
    // Bits that crossed the network each way, over the time for both ways.
    const mbps = Math.round(((CHUNK * CHUNKS * 8) / seconds / 1e6) * 10) / 10;
    const verdict = rttMs <= 150 && mbps >= 2
      ? "Good enough for sharing your camera or screen."
      : rttMs <= 400 && mbps >= 0.5
        ? "Sharing will work, with a lower picture quality."
        : "Your connection is slow: the picture may lag. Wi-Fi or a better signal would help.";
    return { rttMs, rttMaxMs, mbps, verdict };
  } finally {
    socket.onclose = null;
    socket.close(1000);
  }
}
