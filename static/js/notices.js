// What the page tells the user: server errors and a link's notices (dismissable), the connection's state, a
// diverged network.
import { element } from "./dom.js";

const MAX_MESSAGES = 4;

export class ErrorList {
  constructor(root) {
    this.root = root;
  }

  /** Show a server `error` payload ({event, field, message, fields}); the same message again bumps a counter. */
  show(error) {
    const fields = error.fields || {};
    const others = Object.entries(fields).filter(([name]) => name !== error.field);
    const text = [error.message, ...others.map(([name, sentence]) => `${name} ${sentence}`)].join(". ");
    this.add("Not accepted: ", text, error.field, error.event ? ` (${error.event})` : "", "refused");
  }

  /** Show a link's notice ({field, message}): a value the link had that the server replaced. */
  notice(notice) {
    this.add("From the link: ", notice.message, notice.field, "", "link-notice");
  }

  /** `kind`: "refused" (the server changed nothing) or "link-notice" (it used another value), for the styles. */
  add(heading, text, field, source, kind) {
    const existing = [...this.root.children].find((item) => item.dataset.text === heading + text);
    if (existing) {
      const count = Number(existing.dataset.count) + 1;
      existing.dataset.count = String(count);
      existing.querySelector(".count").textContent = `×${count}`;
      this.root.append(existing);
      return;
    }
    const item = element("div", `error-message ${kind}`);
    item.setAttribute("role", "alert");
    item.dataset.text = heading + text;
    item.dataset.count = "1";
    item.dataset.field = field || "";
    const body = element("p");
    body.append(element("strong", null, heading), text, element("span", "source", source), " ",
                element("span", "count"));
    const close = element("button", "dismiss", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss this message");
    close.addEventListener("click", () => item.remove());
    item.append(body, close);
    this.root.append(item);
    while (this.root.children.length > MAX_MESSAGES) this.root.firstElementChild.remove();
  }
}

/**
 * The connection's state while the page has no working session: connecting, turned away by a full server (the
 * page retries by itself), or lost (Socket.IO reconnects by itself). Hidden while a session works.
 */
export class ConnectionBanner {
  constructor(element) {
    this.element = element;
    this.hadSession = false;
    this.full = false;
  }

  /** The server accepted this connection's link: there is a session. */
  connected() {
    this.hadSession = true;
    this.full = false;
    this.element.hidden = true;
    document.body.classList.remove("offline");
  }

  /** The server refused the connection because it has as many as it takes. */
  serverFull() {
    this.full = true;
    this.say("The server is full: it already has as many learners as it can take. This page tries again by " +
             "itself every few seconds; you do not need to reload it.");
  }

  lost() {
    if (this.full) return;              // the refusal's disconnection: the message stays
    this.say(this.hadSession ? "Connection to the server lost. Reconnecting… (your settings will be restored)"
      : "Connecting to the server…");
  }

  say(text) {
    this.element.textContent = text;
    this.element.hidden = false;
    document.body.classList.add("offline");
  }
}

/** What the server says of the services a cluster's processes share (the `service` event): shown while degraded. */
export class ServiceNotice {
  constructor(element) {
    this.element = element;
  }

  update(service) {
    this.element.textContent = service.message ?? "";
    this.element.hidden = !service.degraded;
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
