// "Run with K seeds": the K runs' band on the loss chart (median test loss, 10th to 90th percentile, every run
// faintly), the line that says how many reached the stop rule and when, and the K output maps as small multiples;
// clicking one makes it the main run. The server computes all of it and sends it in `seed_update`
// (docs/protocol.md); this module only draws, and acknowledges each update once drawn.
import { element } from "./dom.js";
import { decodeSmallMaps } from "./frames.js";
import { formatLoss } from "./format.js";

const MAX_POINTS = 512;          // past this the history is halved (every other point), as the loss chart does
const PAD = 2;

const finite = (value) => value !== null && value !== undefined && Number.isFinite(value);
const epochs = (n) => `${n.toLocaleString("en")} epoch${n === 1 ? "" : "s"}`;

/** The chart layer: one point per update, for every run, the median and the band. */
class SeedBand {
  constructor() {
    this.runs = [];
    this.median = [];
    this.low = [];
    this.high = [];
  }

  add(update) {
    update.testLosses.forEach((loss, i) => { (this.runs[i] ??= []).push(loss); });
    this.median.push(update.median);
    this.low.push(update.low);
    this.high.push(update.high);
    if (this.median.length > MAX_POINTS) {
      const half = (values) => values.filter((_, index) => index % 2 === 0);
      this.runs = this.runs.map(half);
      [this.median, this.low, this.high] = [this.median, this.low, this.high].map(half);
    }
  }

  draw(context, width, height, log) {
    const count = this.median.length;
    const values = [...this.runs.flat(), ...this.high].filter((v) => finite(v) && (!log || v > 0));
    if (count < 2 || !values.length) return;
    let low = Math.min(...values), high = Math.max(...values);
    const f = log ? Math.log10 : (v) => v;
    if (log) { low = Math.log10(low); high = Math.log10(high); }
    const span = high - low || 1;
    const x = (i) => (i / (count - 1)) * width;
    const y = (v) => PAD + (1 - (f(log ? Math.max(v, 10 ** low) : v) - low) / span) * (height - 2 * PAD);
    const line = (series, style, lineWidth) => {
      context.beginPath();
      let drawing = false;
      series.forEach((v, i) => {
        if (!finite(v)) { drawing = false; return; }
        if (drawing) context.lineTo(x(i), y(v)); else context.moveTo(x(i), y(v));
        drawing = true;
      });
      context.strokeStyle = style;
      context.lineWidth = lineWidth;
      context.stroke();
    };
    // The band: 10th percentile left to right, then the 90th back (an infinite 90th clips to the top).
    context.beginPath();
    this.low.forEach((v, i) => context.lineTo(x(i), finite(v) ? y(v) : PAD));
    for (let i = count - 1; i >= 0; i--) context.lineTo(x(i), finite(this.high[i]) ? y(this.high[i]) : PAD);
    context.closePath();
    context.fillStyle = "rgba(8, 119, 189, 0.18)";
    context.fill();
    for (const run of this.runs) line(run, "rgba(0, 0, 0, 0.13)", 1);
    line(this.median, "black", 1.5);
  }
}

export class SeedPanel {
  /**
   * root: the panel (line, maps, buttons); chart: the LossChart it draws on; send(event, payload): a request;
   * lookup(): the colour table of the maps; onAdopted(reply): a run became the main run; stats: test counters.
   */
  constructor({ root, chart, send, lookup, onAdopted, stats }) {
    Object.assign(this, { root, chart, send, lookup, onAdopted, stats });
    this.line = root.querySelector(".seed-line");
    this.grid = root.querySelector(".seed-maps");
    this.stopButton = root.querySelector(".seed-stop");
    this.stopButton.addEventListener("click", () => this.send("stop_seeds"));
    root.querySelector(".seed-close").addEventListener("click", () => { this.send("close_seeds"); this.hide(); });
    this.tiles = [];
    this.seeds = [];
    this.maps = null;         // the newest update's decoded maps
    this.band = null;         // the chart layer while a run is shown
  }

  /** A new run of `count` was asked for: a fresh chart layer, and tiles to fill. */
  start(count) {
    this.band = new SeedBand();
    this.maps = null;
    this.seeds = [];
    this.setTiles(count);
    this.line.textContent = `Starting ${count} runs…`;
    this.root.hidden = false;
    this.root.closest(".metrics")?.classList.add("seeding");
    this.chart.setLayer(this.band);
    this.chart.draw();
  }

  /** The run_seeds reply: the seeds, for the tiles' names. */
  started(reply) {
    if (!reply?.ok) { this.hide(); return; }
    this.seeds = reply.seeds;
    this.tiles.forEach((tile, i) => this.name(tile, i));
  }

  hide() {
    this.root.hidden = true;
    this.root.closest(".metrics")?.classList.remove("seeding");
    this.chart.setLayer(null);
    this.chart.draw();
    this.band = null;
  }

  setTiles(count) {
    if (this.tiles.length === count) return;
    this.grid.replaceChildren();
    this.tiles = Array.from({ length: count }, (_, i) => {
      const button = element("button", "seed-map");
      button.type = "button";
      const canvas = element("canvas");
      button.append(canvas);
      button.addEventListener("click", () => this.adopt(i));
      this.grid.append(button);
      const tile = { button, canvas };
      this.name(tile, i);
      return tile;
    });
  }

  name(tile, i) {
    const seed = this.seeds[i] ? `, seed ${this.seeds[i]}` : "";
    const label = `Run ${i + 1}${seed}: make it the main run`;
    tile.button.title = label;
    tile.button.setAttribute("aria-label", label);
  }

  async adopt(member) {
    const reply = await this.send("adopt_seed", { member });
    if (reply?.ok) { this.hide(); this.onAdopted(reply); }
  }

  /** A seed_update: draw the maps, the chart and the line, then acknowledge. */
  async onUpdate(update, ack) {
    try {
      if (!this.band) return;                       // closed meanwhile
      const { width, maps } = await decodeSmallMaps(update.maps, update.epochs.length);
      this.setTiles(maps.length);
      this.maps = { width, maps, statuses: update.statuses };
      this.repaint();
      this.band.add(update);
      this.line.textContent = this.describe(update);
      this.stopButton.disabled = update.status !== "running";
      this.chart.dirty = true;
      this.chart.draw();
      this.stats.seedUpdates++;
    } catch (error) {
      console.error("drawing a seed_update failed", error);
    } finally {
      if (typeof ack === "function") ack();
    }
  }

  /** Paint the newest maps again (a new colour table: "discretize output" changed). */
  repaint() {
    if (!this.maps || !this.band) return;
    const { width, maps, statuses } = this.maps;
    const lookup = this.lookup();
    maps.forEach((codes, i) => this.paint(this.tiles[i], codes, width, lookup, statuses[i]));
  }

  paint(tile, codes, width, lookup, status) {
    const { canvas } = tile;
    if (canvas.width !== width) { canvas.width = width; canvas.height = width; }
    const context = canvas.getContext("2d");
    const image = context.createImageData(width, width);
    const pixels = new Uint32Array(image.data.buffer);
    for (let i = 0; i < codes.length; i++) pixels[i] = lookup[codes[i]];
    context.putImageData(image, 0, 0);
    tile.button.dataset.status = status;
  }

  /** The line under the chart: where the K runs are, and how many reached the stop rule, when. */
  describe(update) {
    const k = update.epochs.length;
    const epoch = Math.max(...update.epochs);
    const band = `${k} runs, ${epochs(epoch)}: median test loss ${formatLoss(update.median)} ` +
      `(10th–90th percentile ${formatLoss(update.low)}–${formatLoss(update.high)}).`;
    if (!update.rule) return `${band} Set a stop rule (Pace) to count how many reach it.`;
    if (!update.reached) return `${band} None has reached the stop rule (${update.rule}) yet.`;
    const spread = update.reachedMin === update.reachedMax ? "" : `; ${update.reachedMin}–${update.reachedMax}`;
    return `${band} ${update.reached} of ${k} reached the stop rule (${update.rule}) after ` +
      `${epochs(update.reachedMedian)} (median${spread}).`;
  }
}
