// Saved experiments and drafts. "Save" stores the whole experiment on the server and shows its link (/e/<id>). A
// draft is the learner's own run, which the server keeps for a reload or a restart: this page keeps the draft's id
// in localStorage per address path, with the hash it had, and asks for it back (`resume`) on every connection.

const DRAFT_KEY = "playground.draft:";

/** The saved experiment this page's address names (/e/<id>), or null. */
export function savedIdOfAddress() {
  const match = /^\/e\/([A-Za-z0-9_-]+)$/.exec(location.pathname);
  return match ? match[1] : null;
}

export class DraftKeeper {
  constructor() {
    this.key = DRAFT_KEY + location.pathname;
  }

  read() {
    try {
      return JSON.parse(localStorage.getItem(this.key) || "null");
    } catch {
      return null;        // storage refused (private mode) or garbled: no draft
    }
  }

  /** The draft to ask for: the one kept for this address, if the address still shows what it showed then. */
  wanted() {
    const kept = this.read();
    return kept && typeof kept.id === "string" && kept.hash === location.hash ? kept.id : null;
  }

  remember(id) {
    this.id = id;
    this.write();
  }

  /** The address changed (an accepted config): the draft now goes with the new hash. */
  write() {
    if (!this.id) return;
    try {
      localStorage.setItem(this.key, JSON.stringify({ id: this.id, hash: location.hash }));
    } catch {
      // no storage: a reload starts afresh, as without drafts
    }
  }
}

export class SavePanel {
  /** root: the panel; limits: {title, note} lengths (page data); send(event, payload): a request. */
  constructor(root, limits, send) {
    this.title = root.querySelector("#save-title");
    this.note = root.querySelector("#save-note");
    this.link = root.querySelector("#save-link");
    this.title.maxLength = limits.title;
    this.note.maxLength = limits.note;
    this.send = send;
    root.querySelector("#save-button").addEventListener("click", () => this.save());
  }

  async save() {
    const reply = await this.send("save_experiment", { title: this.title.value, note: this.note.value });
    if (!reply?.ok) return;
    const url = new URL(reply.url, location.origin).href;
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.textContent = url;
    anchor.target = "_blank";
    anchor.rel = "noopener";
    this.link.replaceChildren("Saved: ", anchor);
  }

  /** An opened saved experiment shows its title and note. */
  show(title, note) {
    this.title.value = title;
    this.note.value = note;
  }
}
