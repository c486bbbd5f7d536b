// The browser's view of the server session's config: what the server last accepted, and the changes on their way.
//
// Changes go out as `update_config`, one request at a time; changes made meanwhile are merged and sent when the
// reply arrives, so a slider dragged fast sends its latest value, not a backlog. `desired()` is the config the
// user is heading to, so two quick "+" clicks add two layers. A rejected change is dropped (the server's `error`
// event tells the user) and the rest of the same change is re-sent without the rejected fields.
// A link (the page's address) goes out as `open_link`, which the server reads: the page has no URL codec.
import { NotConnected } from "./connection.js";

export class ConfigSync {
  /**
   * onAccepted(config, reply): the server accepted a change (or another reply carried its config).
   * onRejected(config): a change was rejected; `config` is the last accepted one, to put the controls back.
   */
  constructor(connection, { onAccepted, onRejected }) {
    this.connection = connection;
    this.onAccepted = onAccepted;
    this.onRejected = onRejected;
    this.accepted = null;
    this.pending = {};
    this.inFlight = null;
    this.sendingFor = null;         // the request whose reply counts; a newer one (a new connection) supersedes it
  }

  desired() {
    return { ...this.accepted, ...this.inFlight, ...this.pending };
  }

  change(changes) {
    Object.assign(this.pending, changes);
    this.flush();
  }

  /** Apply a link (a new connection's address, or a hash edited by hand), ahead of the changes still pending, which
   * follow it. Resolves with the reply, or null if none came. */
  openLink(hash) {
    this.pending = { ...this.inFlight, ...this.pending };
    return this.send("open_link", { hash }, {});
  }

  /** Another request's reply carried the session's config (reset, regenerate). */
  acceptFrom(reply) {
    if (reply && reply.ok && reply.config) {
      this.accepted = reply.config;
      this.onAccepted(reply.config, reply);
    }
  }

  flush() {
    if (this.inFlight || Object.keys(this.pending).length === 0) return;
    const sent = this.pending;
    this.pending = {};
    this.send("update_config", sent, sent);
  }

  /** Send one request that changes the config (`changes`: what it asks, shown by `desired()` meanwhile). */
  async send(event, payload, changes) {
    this.inFlight = changes;
    const token = {};
    this.sendingFor = token;
    let reply;
    try {
      reply = await this.connection.request(event, payload);
    } catch (error) {
      if (this.sendingFor !== token) return null;
      this.inFlight = null;
      // Not sent or no answer: keep the change, the next connection's link and changes carry it.
      this.pending = { ...changes, ...this.pending };
      if (!(error instanceof NotConnected)) this.onRejected(this.accepted);
      return null;
    }
    if (this.sendingFor !== token) return null;       // superseded by a link on a new connection
    this.inFlight = null;
    if (reply.ok) {
      this.acceptFrom(reply);
    } else {
      const bad = new Set(Object.keys(reply.error?.fields || {}));
      const rest = Object.fromEntries(Object.entries(changes).filter(([name]) => !bad.has(name)));
      if ([...bad].some((name) => name in changes) && Object.keys(rest).length) this.pending = { ...rest, ...this.pending };
      this.onRejected(this.accepted);
    }
    this.flush();
    return reply;
  }
}
