// The Socket.IO connection: requests with acknowledgements, server events, and reconnection.
// Socket.IO reconnects by itself after a lost connection; each new connection is a fresh server session, so the
// caller re-sends its link on every `connect` (see main.js). A connection the server turns away (it is full) is
// closed by the server, which Socket.IO never retries by itself: this module retries it.
import { io } from "/vendor/socket.io.esm.min.js";

const REQUEST_TIMEOUT_MS = 15000;
const REFUSED_RETRY_MS = 3000;

export class NotConnected extends Error {}

export class Connection {
  /**
   * handlers: {connect(), disconnect(reason), <server event>(payload, ack?)}.
   */
  constructor(handlers) {
    this.socket = io({ reconnectionDelayMax: 4000 });
    this.socket.on("connect", () => handlers.connect?.());
    this.socket.on("disconnect", (reason) => {
      handlers.disconnect?.(reason);
      if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), REFUSED_RETRY_MS);
    });
    this.socket.on("connect_error", (error) => handlers.disconnect?.(error.message));
    for (const [event, handler] of Object.entries(handlers)) {
      if (event !== "connect" && event !== "disconnect") this.socket.on(event, handler);
    }
  }

  get connected() {
    return this.socket.connected;
  }

  /**
   * Send a client -> server event and resolve with its reply ({ok: true, ...} or {ok: false, error}).
   * While disconnected it rejects at once instead of queueing: a request queued across a reconnection would land
   * in the new session after (or before) the link that restores it. A request cut off by a disconnection rejects
   * with NotConnected too.
   */
  async request(event, payload) {
    if (!this.socket.connected) throw new NotConnected(`not connected: ${event} was not sent`);
    const timed = this.socket.timeout(REQUEST_TIMEOUT_MS);
    try {
      return await (payload === undefined ? timed.emitWithAck(event) : timed.emitWithAck(event, payload));
    } catch (error) {
      if (!this.socket.connected) throw new NotConnected(`disconnected: ${event} got no reply`);
      throw error;
    }
  }
}
