// The learners of a class in one Node.js process, for bench/classroom.py: the npm socket.io-client the page uses,
// one WebSocket connection each, every map_update acknowledged at once (as the page does after drawing).
//
//   node bench/classroom.mjs --url http://127.0.0.1:5000 --code ABCDEF --learners 30
//
// Each learner connects, joins the class (`join_class`, name "Learner <i>", its own seed) and starts training; then
// the script prints {"phase": "ready"} and obeys commands on stdin, one a line:
//   measure <seconds>   -> {"phase": "measured", "learners": [{framesPerSecond, epochsPerSecond}, ...]}
//   start               -> every learner sends start_training again (after a pushed config reset the runs)
//   events              -> {"phase": "events", "learners": [{pushes: [ms...], stops: [ms...]}, ...]}: when (Date.now,
//                          the bench's clock too) each got a class_state with a pushed config, and a state "stopped"
//   quit
// Output is JSON lines on stdout; problems go to stderr. A deadline bounds connecting.
import { parseArgs } from "node:util";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const { values: args } = parseArgs({
  options: { url: { type: "string" }, code: { type: "string" }, learners: { type: "string", default: "30" } },
});
const say = (record) => process.stdout.write(JSON.stringify(record) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Learner {
  constructor(index) {
    this.index = index;
    this.frames = 0;
    this.latest = null;              // [ms, epoch] of the newest frame
    this.pushes = [];
    this.stops = [];
    this.socket = io(args.url, { transports: ["websocket"], forceNew: true, reconnection: false });
    this.socket.on("map_update", (frame, ack) => {
      if (typeof ack === "function") ack();
      this.frames++;
      this.latest = [performance.now(), frame.epoch];
    });
    this.socket.on("class_state", (state) => { if (state.config) this.pushes.push(Date.now()); });
    this.socket.on("state", (state) => { if (state.status === "stopped") this.stops.push(Date.now()); });
  }

  async request(event, data) {
    const timed = this.socket.timeout(20000);
    const reply = data === undefined ? await timed.emitWithAck(event) : await timed.emitWithAck(event, data);
    if (!reply?.ok) process.stderr.write(`learner ${this.index}: ${event} refused: ${JSON.stringify(reply)}\n`);
    return reply;
  }

  async join() {
    await new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("connect_error", reject);
    });
    await this.request("update_config", { seed: `class-${this.index}` });
    await this.request("join_class", { code: args.code, name: `Learner ${this.index}` });
    await this.request("start_training");
  }
}

async function measure(learners, seconds) {
  const before = learners.map((l) => [l.frames, l.latest]);
  const started = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  return learners.map((l, i) => {
    const [frames, first] = before[i], last = l.latest;
    const span = first && last && last[0] > first[0] ? (last[0] - first[0]) / 1000 : null;
    return {
      framesPerSecond: Number(((l.frames - frames) / elapsed).toFixed(2)),
      epochsPerSecond: span ? Number(((last[1] - first[1]) / span).toFixed(1)) : null,
    };
  });
}

async function main() {
  const learners = Array.from({ length: Number(args.learners) }, (_, i) => new Learner(i));
  const joined = await Promise.race([Promise.all(learners.map((l) => l.join())), sleep(60000).then(() => null)]);
  if (joined === null) throw new Error("not every learner joined within 60 s");
  say({ phase: "ready", learners: learners.length });
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, value] = line.trim().split(/\s+/);
    if (command === "measure") say({ phase: "measured", learners: await measure(learners, Number(value)) });
    else if (command === "start") { await Promise.all(learners.map((l) => l.request("start_training"))); say({ phase: "started" }); }
    else if (command === "events") say({ phase: "events", learners: learners.map((l) => ({ pushes: l.pushes, stops: l.stops })) });
    else if (command === "quit") break;
  }
  learners.forEach((l) => l.socket.disconnect());
  process.exit(0);
}

main().catch((error) => { process.stderr.write(`classroom.mjs: ${error.stack ?? error}\n`); process.exit(2); });
