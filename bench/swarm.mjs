// A class of playground clients in one Node.js process: the npm socket.io-client the page uses, many connections.
//
//   node bench/swarm.mjs --url http://127.0.0.1:5000 --clients 30 [--warmup 3] [--seconds 10]
//   node bench/swarm.mjs --url URL --configs '[{"seed": "a"}, {"seed": "b", "networkShape": [8, 8]}]'
//   echo '[...]' | node bench/swarm.mjs --url URL --configs -
//
// Each client connects (WebSocket transport only: no long-polling upgrade, which a bench does not need to measure),
// sends its config with `update_config` (one object per client, each with its own seed; `--clients N` alone gives
// N default configs with seeds swarm-0 ... swarm-N-1), sends `start_training`, and acknowledges every `map_update`
// at once, as the page does after drawing. After `--warmup` seconds every client measures for `--seconds`: frames,
// the epochs the frames report, bytes on the wire per `map_update`, all bytes received, refusals. Then it
// disconnects and exits by itself (a deadline bounds the connecting too).
//
// stdout is JSON lines: {"phase": "warmup"}, {"phase": "measure"} when the window opens, {"phase": "measured"}
// when it closes (bench/load.py reads the server's own figures between the two), then one {"phase": "result"}
// object with a summary per client and the swarm's own CPU share and event-loop delay, so a reader can see that
// the clients did not take the server's core. Progress and problems go to stderr.
//
// Bytes: the page's browser and this client both negotiate permessage-deflate, so what crosses the wire is
// compressed. `mapUpdateBytes` counts a map_update's WebSocket messages as received (frame headers plus the
// possibly compressed payload: its text packet and each binary attachment); `mapUpdateDecodedBytes` counts the
// same Engine.IO packets after decompression; `bytesPerSecond` is everything the client's TCP socket read in the
// window. TCP/IP headers are not counted. `--no-deflate` turns compression off to see the uncompressed sizes.
import { parseArgs } from "node:util";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { io } from "socket.io-client";
import { Receiver } from "ws";

const MAX_SECONDS = 600;          // the window and the warm-up are bounded, so the swarm always ends by itself
const LOOP_RESOLUTION_MS = 10;    // Node's delay histogram records whole timer intervals: this much is not delay

function seconds(name) {
  const value = Number(args[name]);
  if (!(value >= 0 && value <= MAX_SECONDS)) fail(`--${name} must be a number of seconds from 0 to ${MAX_SECONDS}`);
  return value;
}

function fail(message) {
  process.stderr.write(`swarm: ${message}\n`);
  process.exit(2);
}

function readArguments() {
  try {
    return parseArgs({
      options: {
        url: { type: "string" },
        clients: { type: "string" },
        configs: { type: "string" },
        warmup: { type: "string", default: "3" },
        seconds: { type: "string", default: "10" },
        "connect-timeout": { type: "string", default: "30" },
        "no-deflate": { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    return fail(error.message);
  }
}

const args = readArguments();

function say(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

async function readConfigs() {
  if (args.configs === undefined) {
    const count = Number(args.clients ?? 1);
    if (!Number.isInteger(count) || count < 1) fail("--clients must be a whole number from 1");
    return Array.from({ length: count }, (_, i) => ({ seed: `swarm-${i}` }));
  }
  let text = args.configs;
  if (text === "-") {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    text = Buffer.concat(chunks).toString("utf8");
  }
  let configs;
  try {
    configs = JSON.parse(text);
  } catch (error) {
    fail(`--configs is not JSON: ${error.message}`);
  }
  if (!Array.isArray(configs) || configs.length === 0 || !configs.every((c) => c && typeof c === "object")) {
    fail("--configs must be a non-empty JSON list of config objects, one per client");
  }
  if (args.clients !== undefined && Number(args.clients) !== configs.length) {
    fail(`--clients ${args.clients} but ${configs.length} configs`);
  }
  return configs;
}

// --- bytes on the wire -------------------------------------------------------------------------------------------
// ws parses each WebSocket frame's header (haveLength) before it reads, and maybe inflates, the payload, and it
// parses no further frame until that message has been handed on: so the count below, read and cleared in the
// Engine.IO "packet" handler that the message ends in, is exactly that message's bytes as they came off the socket.
const haveLength = Receiver.prototype.haveLength;
Receiver.prototype.haveLength = function countFrameBytes(cb) {
  if (this._opcode < 0x08) {                 // data frames; control frames (ping, close) carry no packet
    const length = this._payloadLength;
    const header = 2 + (length > 0xffff ? 8 : length > 125 ? 2 : 0) + (this._masked ? 4 : 0);
    this.benchMessageBytes = (this.benchMessageBytes ?? 0) + header + length;
  }
  return haveLength.call(this, cb);
};

function takeMessageBytes(engine) {
  const receiver = engine.transport?.ws?._receiver;
  const bytes = receiver?.benchMessageBytes ?? 0;
  if (receiver) receiver.benchMessageBytes = 0;
  return bytes;
}

function decodedBytes(data) {
  // A text message is the Engine.IO type digit plus the text; a binary attachment travels as a bare binary message.
  return typeof data === "string" ? 1 + Buffer.byteLength(data) : data.byteLength;
}

// The head of a Socket.IO event packet: "2" (event) or "5<attachments>-" (binary event), an optional namespace,
// an optional ack id, then the JSON array whose first item is the event's name.
const EVENT_HEAD = /^([25])(?:(\d+)-)?(?:\/[^,]*,)?\d*\["([^"]+)"/;

// --- statistics ----------------------------------------------------------------------------------------------------

function quantile(values, q) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const round = (value, digits = 1) => (value === null ? null : Number(value.toFixed(digits)));

// --- one client ----------------------------------------------------------------------------------------------------

class Client {
  constructor(index, config, url, deflate) {
    this.index = index;
    this.config = config;
    this.refusals = [];             // error events, replies with ok:false, connection errors
    this.statuses = [];             // state.status values seen while measuring
    this.status = null;
    this.disconnects = 0;
    this.measuring = false;
    this.window = null;             // what this client saw while measuring
    this.pending = null;            // the event packet whose binary attachments are still arriving
    this.latest = null;             // [time, epoch] of the newest frame or step result
    this.socket = io(url, {
      transports: ["websocket"], forceNew: true, reconnection: false,
      perMessageDeflate: deflate ? { threshold: 1024 } : false,
    });
    this.socket.io.on("open", () => this.socket.io.engine.on("packet", (packet) => this.onPacket(packet)));
    this.socket.on("map_update", (frame, ack) => {
      if (typeof ack === "function") ack();      // at once, before anything else, as the page does after drawing
      this.sample(frame.epoch);
      if (this.measuring) {
        this.onFrame(frame);
        if (typeof frame.epochsPerSecond === "number") this.window.reported.push(frame.epochsPerSecond);
      }
    });
    this.socket.on("state", (state) => {
      this.status = state.status;
      if (this.measuring) this.statuses.push(state.status);
    });
    this.socket.on("error", (error) => this.refusals.push({ event: "error", error }));
    this.socket.on("disconnect", (reason) => {
      if (reason !== "io client disconnect") this.disconnects++;
    });
  }

  connected() {
    return new Promise((resolve) => {
      this.socket.once("connect", () => resolve(true));
      this.socket.once("connect_error", (error) => {
        this.refusals.push({ event: "connect", message: String(error.message ?? error) });
        resolve(false);
      });
    });
  }

  async request(event, data) {
    try {
      const reply = data === undefined ? await this.socket.timeout(10000).emitWithAck(event)
        : await this.socket.timeout(10000).emitWithAck(event, data);
      if (!reply || reply.ok !== true) this.refusals.push({ event, reply });
      return Boolean(reply && reply.ok);
    } catch (error) {
      this.refusals.push({ event, message: `no reply: ${error.message}` });
      return false;
    }
  }

  onPacket(packet) {
    if (packet.type !== "message") return;     // pings and the like: only counted in bytesPerSecond
    const wire = takeMessageBytes(this.socket.io.engine);
    const decoded = decodedBytes(packet.data);
    if (typeof packet.data === "string") {
      const head = EVENT_HEAD.exec(packet.data);
      const attachments = head && head[2] ? Number(head[2]) : 0;
      this.pending = head ? { name: head[3], attachments, wire, decoded, messages: 1 } : null;
    } else if (this.pending && this.pending.attachments > 0) {
      this.pending.attachments--;
      this.pending.wire += wire;
      this.pending.decoded += decoded;
      this.pending.messages++;
    }
    const done = this.pending;
    if (done && done.attachments === 0) {
      this.pending = null;
      if (done.name === "map_update" && this.measuring) {
        this.window.wire.push(done.wire);
        this.window.decoded.push(done.decoded);
        this.window.messages.push(done.messages);
      }
    }
  }

  onFrame(frame) {
    const window = this.window;
    window.frames++;
    if (window.lastSeq !== null && frame.seq > window.lastSeq + 1) window.maxSeqGap = Math.max(
      window.maxSeqGap, frame.seq - window.lastSeq);
    window.lastSeq = frame.seq;
    window.layerSizes = frame.layerSizes;
  }

  // The epochs/s of a window run from the last epoch reported before it opened to the last one inside it, so a
  // client that gets few frames still has a rate (over a span a little longer than the window).
  sample(epoch) {
    if (typeof epoch !== "number") return;
    this.latest = [performance.now(), epoch];
    if (this.measuring) this.window.last = this.latest;
  }

  bytesRead() {
    return this.socket.io.engine?.transport?.ws?._socket?.bytesRead ?? 0;
  }

  startMeasuring() {
    this.window = { frames: 0, first: this.latest, last: null, lastSeq: null, maxSeqGap: 1, layerSizes: null,
      wire: [], decoded: [], messages: [], reported: [], bytesAtStart: this.bytesRead() };
    this.statuses = this.status ? [this.status] : [];
    this.measuring = true;
  }

  stopMeasuring() {
    this.measuring = false;
    this.window.bytesAtEnd = this.bytesRead();
  }

  summary(windowSeconds) {
    const w = this.window;
    const epochs = w && w.first && w.last && w.last[0] > w.first[0] ? w.last[1] - w.first[1] : null;
    return {
      index: this.index,
      seed: this.config.seed ?? null,
      connected: this.socket.connected,
      layerSizes: w?.layerSizes ?? null,
      frames: w?.frames ?? 0,
      framesPerSecond: round((w?.frames ?? 0) / windowSeconds, 2),
      epochs,
      epochsPerSecond: epochs === null ? null : round(epochs / ((w.last[0] - w.first[0]) / 1000)),
      reportedEpochsPerSecondMedian: w ? quantile(w.reported, 0.5) : null,
      maxSeqGap: w?.maxSeqGap ?? null,
      mapUpdateBytes: { median: w ? quantile(w.wire, 0.5) : null, p95: w ? quantile(w.wire, 0.95) : null },
      mapUpdateDecodedBytes: { median: w ? quantile(w.decoded, 0.5) : null, p95: w ? quantile(w.decoded, 0.95) : null },
      mapUpdateMessages: w ? quantile(w.messages, 0.5) : null,      // WebSocket messages per map_update
      bytesPerSecond: w ? Math.round((w.bytesAtEnd - w.bytesAtStart) / windowSeconds) : null,
      statuses: [...new Set(this.statuses)],
      refusals: this.refusals.slice(0, 5),
      refusalCount: this.refusals.length,
      unexpectedDisconnects: this.disconnects,
    };
  }
}

// --- the run -------------------------------------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  if (!args.url) fail("--url is required");
  const warmup = seconds("warmup");
  const windowSeconds = seconds("seconds");
  const connectTimeout = seconds("connect-timeout");
  if (windowSeconds <= 0) fail("--seconds must be more than 0");
  const configs = await readConfigs();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();

  const clients = configs.map((config, i) => new Client(i, config, args.url, !args["no-deflate"]));
  const deadline = sleep(connectTimeout * 1000).then(() => "timeout");
  const connected = await Promise.race([Promise.all(clients.map((c) => c.connected())), deadline]);
  if (connected === "timeout") {
    process.stderr.write(`swarm: not every client connected within ${connectTimeout} s\n`);
  }
  const ready = clients.filter((c) => c.socket.connected);
  await Promise.all(ready.map(async (c) => {
    if (await c.request("update_config", c.config)) await c.request("start_training");
  }));
  process.stderr.write(`swarm: ${ready.length}/${clients.length} connected and started; warming up ${warmup} s\n`);
  say({ phase: "warmup", clients: clients.length, connected: ready.length });
  await sleep(warmup * 1000);

  loopDelay.reset();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  clients.forEach((c) => c.startMeasuring());
  say({ phase: "measure" });
  await sleep(windowSeconds * 1000);
  clients.forEach((c) => c.stopMeasuring());
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  say({ phase: "measured" });

  const summaries = clients.map((c) => c.summary(elapsed));
  clients.forEach((c) => c.socket.disconnect());
  say({
    phase: "result",
    url: args.url,
    transport: "websocket",
    perMessageDeflate: !args["no-deflate"],
    warmupSeconds: warmup,
    windowSeconds: round(elapsed, 2),
    swarm: {
      cpuPercentOfOneCore: round((100 * (cpu.user + cpu.system)) / 1e6 / elapsed),
      eventLoopDelayP99Ms: round(Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS), 2),
      rssMB: round(process.memoryUsage().rss / 1e6),
      node: process.version,
    },
    clients: summaries,
  });
  // Every socket was closed above; exit now rather than wait for their last packets.
  process.exit(0);
}

main().catch((error) => fail(error.stack ?? String(error)));
