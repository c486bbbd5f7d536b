// The Socket.IO connection: requests with acknowledgements, server events, and reconnection.
// Socket.IO reconnects by itself; each new connection is a fresh server session, so the caller re-sends its whole
// config on every `connect` (see main.js).
import { io } from "/vendor/socket.io.esm.min.js";

const REQUEST_TIMEOUT_MS = 15000;

export class NotConnected extends Error {}

export class Connection {
  /**
   * handlers: {connect(firstTime), disconnect(reason), <server event>(payload, ack?)}.
   */
  constructor(handlers) {
    this.socket = io({ reconnectionDelayMax: 4000 });
    let connections = 0;
    this.socket.on("connect", () => handlers.connect?.(connections++ === 0));
    this.socket.on("disconnect", (reason) => handlers.disconnect?.(reason));
    this.socket.on("connect_error", (error) => handlers.disconnect?.(error.message));
    for (const event of ["map_update", "step_result", "dataset", "state", "error"]) {
      if (handlers[event]) this.socket.on(event, handlers[event]);
    }
  }

  get connected() {
    return this.socket.connected;
  }

  /**
   * Send a client -> server event and resolve with its reply ({ok: true, ...} or {ok: false, error}).
   * While disconnected it rejects at once instead of queueing: a request queued across a reconnection would land
   * in the new session after (or before) the config that restores it.
   */
  request(event, payload) {
    if (!this.socket.connected) return Promise.reject(new NotConnected(`not connected: ${event} was not sent`));
    const timed = this.socket.timeout(REQUEST_TIMEOUT_MS);
    return payload === undefined ? timed.emitWithAck(event) : timed.emitWithAck(event, payload);
  }
}
