// The agent console's presence connection (protocol/README.md §20.1, §20.2): a second
// WebSocket, beside the session's, whose hello carries `presence`. The broker answers with
// `presence.status` (again on every change) and offers queue entries with `queue.offer`;
// the agent declines on this connection and accepts by opening a session connection with
// `hello.take.offer` (agent.js). It reconnects by itself with back-off, except after a
// refusal of the sign-in (4401, 4403) or when a newer presence connection replaced it (4412).
import { TandemSocket } from "./connection.js";

const NAME = /^[a-z0-9-]{1,32}$/;

/** "line1, line2" or "line1,line2" as a list of valid names, without repeats (invalid ones dropped). */
export function nameList(text) {
  const names = String(text ?? "").split(",").map((name) => name.trim().toLowerCase()).filter((name) => NAME.test(name));
  return [...new Set(names)];
}

export class PresenceConnection {
  /**
   * `token`: the console sign-in; `client`: the hello's client name; callbacks: onStatus(message),
   * onOffer(message), onWithdrawn(message), onError(message), onState({connected, text, final, code}).
   */
  constructor(token, client, callbacks) {
    this.token = token;
    this.client = client;
    this.callbacks = callbacks;
    this.socket = null;
    this.wanted = null;
    this.attempt = 0;
    this.timer = null;
    this.status = null;
    this.welcomed = false;
  }

  get isOpen() {
    return this.socket?.isOpen === true && this.welcomed;
  }

  /**
   * Goes online with `presence` ({state, lines, skills, maxSessions}), or tells an open
   * connection `change` (all of it by default) with `presence.set`.
   */
  set(presence, change = presence) {
    this.wanted = presence;
    if (this.socket && !this.socket.closed) {
      if (this.welcomed) this.socket.send({ type: "presence.set", ...change });
      return;
    }
    this.open();
  }

  open() {
    clearTimeout(this.timer);
    this.welcomed = false;
    const hello = { role: "agent", token: this.token, client: this.client, presence: this.wanted };
    const socket = new TandemSocket(hello, {
      onControl: (message) => this.handle(message),
      onClose: ({ code, message }) => this.closed(socket, code, message),
    });
    this.socket = socket;
    this.callbacks.onState?.({ connected: false, text: "Going online…" });
    socket.connect();
  }

  handle(message) {
    switch (message.type) {
      case "presence.status": {
        const away = message.state === "away";
        if (!this.welcomed) {
          this.welcomed = true;
          this.attempt = 0;
          this.callbacks.onState?.({ connected: true, text: "" });
          // The switch moved while the hello was on its way: say so now.
          if (this.wanted && (this.wanted.state === "away") !== away) this.socket.send({ type: "presence.set", ...this.wanted });
        } else if (this.wanted) {
          // The broker may change it by itself (away after a missed offer, §20.2): a reconnect keeps that.
          this.wanted = { ...this.wanted, state: away ? "away" : "available" };
        }
        this.status = message;
        this.callbacks.onStatus?.(message);
        break;
      }
      case "queue.offer":
        this.callbacks.onOffer?.(message);
        break;
      case "queue.withdrawn":
        this.callbacks.onWithdrawn?.(message);
        break;
      case "error":
        this.callbacks.onError?.(message);
        break;
    }
  }

  closed(socket, code, message) {
    if (socket !== this.socket) return;
    this.welcomed = false;
    if (this.wanted === null) {
      this.callbacks.onState?.({ connected: false, text: "Offline.", final: true, code });
      return;
    }
    if (code === 4401 || code === 4403) {
      this.wanted = null;
      this.callbacks.onState?.({ connected: false, text: `Offline: ${message} Sign in again with a new console link.`, final: true, code });
      return;
    }
    if (code === 4412) {
      // §20.1: one presence connection per agent; the newer one (another window) wins.
      this.wanted = null;
      this.callbacks.onState?.({ connected: false, text: "Offline here: you went online in another window.", final: true, code });
      return;
    }
    const delay = Math.min(500 * 2 ** this.attempt, 15_000);
    this.attempt += 1;
    this.callbacks.onState?.({ connected: false, text: `Presence connection lost; reconnecting in ${Math.ceil(delay / 1000)} s…`, code });
    this.timer = setTimeout(() => this.open(), delay);
  }

  /** `queue.decline` (§20.2). */
  decline(offerId) {
    this.socket?.send({ type: "queue.decline", offerId });
  }

  /** Goes offline: closes the connection and stops reconnecting. */
  close() {
    this.wanted = null;
    clearTimeout(this.timer);
    this.socket?.close();
  }
}
