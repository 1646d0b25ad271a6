// One participant's WebSocket to the broker (protocol/README.md §1, §2): hello first, then
// control messages (text) and media frames (binary) both ways.
import { CLOSE_MESSAGES, SUBPROTOCOL, WS_PATH, decodeControl, decodeFrame, encodeControl, encodeFrame } from "./protocol.js";

export class TandemSocket {
  /** `hello` is the hello message without `type`/`protocol`; callbacks: onControl, onFrame, onClose, onOpen. */
  constructor(hello, callbacks) {
    this.hello = { type: "hello", protocol: 1, ...hello };
    this.callbacks = callbacks;
    this.socket = null;
    this.closed = false;
  }

  /** Connects again with a different hello (a resume after a drop). */
  reconnect(hello) {
    this.hello = { type: "hello", protocol: 1, ...hello };
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${WS_PATH}`, SUBPROTOCOL);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      socket.send(encodeControl(this.hello));
      this.callbacks.onOpen?.();
    };
    socket.onmessage = (event) => {
      try {
        if (typeof event.data === "string") this.callbacks.onControl?.(decodeControl(event.data));
        else this.callbacks.onFrame?.(decodeFrame(event.data));
      } catch (error) {
        // §4, §10: a frame of a codec this page does not know (a newer peer's stream) is skipped quietly.
        if (error.code === "unknown-codec") return;
        console.warn("Tandem: ignored a message the page cannot read", error.code ?? error);
      }
    };
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this.closed = true;
      const message = CLOSE_MESSAGES[event.code] ?? (event.code === 1006 ? "The connection to the support service was lost." : `Connection closed (${event.code}).`);
      // 1000 with session.ended, or a refusal (4xxx): final. Anything else may be a lost
      // connection that a resume can repair.
      const final = event.code === 1000 || (event.code >= 4400 && event.code < 4600);
      this.callbacks.onClose?.({ code: event.code, reason: event.reason, message, final });
    };
  }

  get isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Bytes queued in the browser and not yet sent: the page's bound on its send queue. */
  get bufferedAmount() {
    return this.socket?.bufferedAmount ?? 0;
  }

  send(message) {
    if (this.isOpen) this.socket.send(encodeControl(message));
  }

  sendFrame(header, payload) {
    if (this.isOpen) this.socket.send(encodeFrame(header, payload));
  }

  close() {
    this.socket?.close(1000);
  }
}
