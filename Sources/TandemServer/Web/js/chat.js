// The chat panel shared by both pages.
export class ChatPanel {
  constructor(root, onSend) {
    this.log = root.querySelector(".chat-log");
    this.form = root.querySelector("form");
    this.input = root.querySelector("input");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      if (onSend(text)) {
        this.add("you", text);
        this.input.value = "";
      }
    });
  }

  add(who, text) {
    const line = document.createElement("p");
    const name = document.createElement("strong");
    name.textContent = `${who}: `;
    line.append(name, document.createTextNode(text));
    line.className = `chat-${who === "you" ? "own" : "peer"}`;
    this.log.append(line);
    this.log.scrollTop = this.log.scrollHeight;
  }

  note(text) {
    const line = document.createElement("p");
    line.className = "chat-note";
    line.textContent = text;
    this.log.append(line);
    this.log.scrollTop = this.log.scrollHeight;
  }
}
