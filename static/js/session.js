// The browser's view of the server session's config: what the server last accepted, and the changes on their way.
//
// Changes go out as `update_config`, one request at a time; changes made meanwhile are merged and sent when the
// reply arrives, so a slider dragged fast sends its latest value, not a backlog. `desired()` is the config the
// user is heading to, so two quick "+" clicks add two layers. A rejected change is dropped (the server's `error`
// event tells the user) and the rest of the same change is re-sent without the rejected fields, so one bad value in
// a pasted link does not throw away the rest of it.
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
  }

  desired() {
    return { ...this.accepted, ...this.inFlight, ...this.pending };
  }

  change(changes) {
    Object.assign(this.pending, changes);
    this.flush();
  }

  /** A new connection is a new session: send everything it must take over, ahead of anything pending. */
  restore(config) {
    this.pending = { ...config, ...this.inFlight, ...this.pending };
    this.inFlight = null;
    this.sendingFor = null;
    return this.flush(true);
  }

  /** Another request's reply carried the session's config (reset, regenerate). */
  acceptFrom(reply) {
    if (reply && reply.ok && reply.config) {
      this.accepted = reply.config;
      this.onAccepted(reply.config, reply);
    }
  }

  async flush(force = false) {
    // `force` sends even an empty change: its reply tells a new connection the session's config.
    if (!force && (this.inFlight || Object.keys(this.pending).length === 0)) return;
    const sent = this.pending;
    this.pending = {};
    this.inFlight = sent;
    const token = {};
    this.sendingFor = token;
    let reply;
    try {
      reply = await this.connection.request("update_config", sent);
    } catch (error) {
      if (this.sendingFor !== token) return;
      this.inFlight = null;
      // Not sent or no answer: keep the change, `restore` re-sends it on the next connection.
      this.pending = { ...sent, ...this.pending };
      if (!(error instanceof NotConnected)) this.onRejected(this.accepted);
      return;
    }
    if (this.sendingFor !== token) return;          // superseded by a restore on a new connection
    this.inFlight = null;
    if (reply.ok) {
      this.accepted = reply.config;
      this.onAccepted(reply.config, reply);
    } else {
      const bad = new Set(Object.keys(reply.error?.fields || {}));
      const rest = Object.fromEntries(Object.entries(sent).filter(([name]) => !bad.has(name)));
      if ([...bad].some((name) => name in sent) && Object.keys(rest).length) this.pending = { ...rest, ...this.pending };
      this.onRejected(this.accepted);
    }
    this.flush();
  }
}
