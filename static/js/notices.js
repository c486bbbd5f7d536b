// What the page tells the user: server errors (dismissable alerts), a lost connection, a diverged network.

const MAX_ERRORS = 4;

export class ErrorList {
  constructor(root) {
    this.root = root;
  }

  /** Show a server `error` payload ({event, field, message, fields}); the same message again bumps a counter. */
  show(error) {
    const fields = error.fields || {};
    const others = Object.entries(fields).filter(([name]) => name !== error.field);
    const text = [error.message, ...others.map(([name, sentence]) => `${name} ${sentence}`)].join(". ");
    const existing = [...this.root.children].find((item) => item.dataset.text === text);
    if (existing) {
      const count = Number(existing.dataset.count) + 1;
      existing.dataset.count = String(count);
      existing.querySelector(".count").textContent = `×${count}`;
      this.root.append(existing);
      return;
    }
    const item = document.createElement("div");
    item.className = "error-message";
    item.setAttribute("role", "alert");
    item.dataset.text = text;
    item.dataset.count = "1";
    item.dataset.field = error.field || "";
    const body = document.createElement("p");
    const what = document.createElement("strong");
    what.textContent = "Not accepted: ";
    body.append(what, text);
    const source = document.createElement("span");
    source.className = "source";
    source.textContent = error.event ? ` (${error.event})` : "";
    const count = document.createElement("span");
    count.className = "count";
    body.append(source, " ", count);
    const close = document.createElement("button");
    close.type = "button";
    close.className = "dismiss";
    close.textContent = "×";
    close.setAttribute("aria-label", "Dismiss this message");
    close.addEventListener("click", () => item.remove());
    item.append(body, close);
    this.root.append(item);
    while (this.root.children.length > MAX_ERRORS) this.root.firstElementChild.remove();
  }

  clear() {
    this.root.replaceChildren();
  }
}

/** A banner while the connection is down; Socket.IO keeps trying to reconnect by itself. */
export class ConnectionBanner {
  constructor(element) {
    this.element = element;
    this.everConnected = false;
  }

  connected() {
    this.everConnected = true;
    this.element.hidden = true;
    document.body.classList.remove("offline");
  }

  lost() {
    this.element.textContent = this.everConnected
      ? "Connection to the server lost. Reconnecting… (your settings will be restored)"
      : "Connecting to the server…";
    this.element.hidden = false;
    document.body.classList.add("offline");
  }
}

export class DivergenceNotice {
  constructor(element) {
    this.element = element;
  }

  update(status) {
    this.element.hidden = status !== "diverged";
  }
}
