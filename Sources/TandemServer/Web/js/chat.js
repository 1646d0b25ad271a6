// The chat panel shared by both pages. A line typed while the page is reconnecting is kept
// (at most MAX_HELD lines) and sent once the session is back; the panel marks it until then.
const MAX_HELD = 20;

export class ChatPanel {
  /**
   * `onSend(text)`: sends a line, true when it went out. `canHold()`: whether a line that
   * could not go out may wait for a reconnection (the page is reconnecting to its session).
   */
  constructor(root, onSend, canHold = () => false) {
    this.log = root.querySelector(".chat-log");
    this.form = root.querySelector("form");
    this.input = root.querySelector("input");
    this.onSend = onSend;
    this.canHold = canHold;
    this.held = [];
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      if (this.held.length === 0 && this.onSend(text)) {
        this.add("you", text);
        this.input.value = "";
      } else if (this.canHold() && this.held.length < MAX_HELD) {
        const line = this.add("you", text);
        line.classList.add("chat-held");
        line.title = "Not sent yet: it goes out when the connection is back.";
        this.held.push({ text, line });
        this.input.value = "";
        document.body.dataset.chatHeld = String(this.held.length);
      } else {
        this.note(this.canHold() ? "Not sent: too many messages are waiting for the connection." : "Not sent: you are not connected.");
      }
    });
  }

  /** The session is back: sends the lines held meanwhile, in order. */
  flush() {
    while (this.held.length > 0 && this.onSend(this.held[0].text)) {
      const { line } = this.held.shift();
      line.classList.remove("chat-held");
      line.removeAttribute("title");
    }
    document.body.dataset.chatHeld = String(this.held.length);
  }

  /** The session is over: what was held will never be sent. */
  drop() {
    for (const { line } of this.held) {
      line.classList.replace("chat-held", "chat-unsent");
      line.title = "Not sent: the session ended.";
    }
    if (this.held.length > 0) this.note(`${this.held.length === 1 ? "One message was" : `${this.held.length} messages were`} not sent before the session ended.`);
    this.held = [];
    document.body.dataset.chatHeld = "0";
  }

  add(who, text) {
    const line = document.createElement("p");
    const name = document.createElement("strong");
    name.textContent = `${who}: `;
    line.append(name, document.createTextNode(text));
    line.className = `chat-${who === "you" ? "own" : "peer"}`;
    this.log.append(line);
    this.log.scrollTop = this.log.scrollHeight;
    return line;
  }

  note(text) {
    const line = document.createElement("p");
    line.className = "chat-note";
    line.textContent = text;
    this.log.append(line);
    this.log.scrollTop = this.log.scrollHeight;
  }
}
