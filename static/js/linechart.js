// The loss chart: training loss (#777) and test loss (black), one point per frame of a new step, cleared on reset.
// Like TF's: no axes, x = the point's index, y auto-scaled to the min and max of every value since the reset.
// Beyond TF's: a linear or log scale, and a readout of the point under the pointer (hover, tap, or the arrow keys
// when the chart has the keyboard focus). Drawn on a canvas, and only when a point arrives or the readout moves
// (the caller schedules `draw` in its animation frame).
// Time travel adds other branches of the run (`setBranches`): each one's losses drawn dashed in its own colour from
// where it forked, and the x axis then counts epochs, so that every curve sits at its epochs.

const MAX_POINTS = 1024;     // past this the series are halved (every other point); the shape stays the same
const PAD = 1.5;
export const BRANCH_COLORS = ["#e8710a", "#1a73e8", "#9334e6", "#188038", "#d01884", "#b06000", "#12b5cb"];

/** A loss as the readout shows it: 4 significant digits (a log scale's small values stay readable). */
function readable(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "NaN";
  return value >= 0.001 || value === 0 ? value.toFixed(4) : value.toPrecision(3);
}

export class LossChart {
  /** canvas: the chart; readout: the element that shows the values under the pointer (optional). */
  constructor(canvas, readout = null) {
    this.canvas = canvas;
    this.readout = readout;
    this.idleText = readout ? readout.textContent : "";
    this.context = canvas.getContext("2d");
    this.colors = ["#777", "black"];
    this.log = false;
    this.pointer = null;          // the read position as a fraction of the width (0..1), or null
    this.pinned = false;          // a tap (or a click, or a key) keeps the readout until dismissed
    this.layer = null;            // drawn instead of the two series while set (a many-seed run: seeds.js)
    this.clear();
    new ResizeObserver(() => { this.dirty = true; this.draw(); }).observe(canvas);
    this.listen();
  }

  clear() {
    this.epochs = [];
    this.series = [[], []];                     // [train, test]
    this.min = Infinity;
    this.max = -Infinity;
    this.minPositive = Infinity;
    this.branches = [];                         // other branches: {epochs, train, test, color}
    this.dirty = true;
  }

  /** The other branches of the run (time travel), drawn behind the current one's losses. */
  setBranches(branches) {
    this.branches = branches;
    for (const branch of branches) {
      for (const value of [...branch.train, ...branch.test]) this.include(value);
    }
    this.dirty = true;
  }

  include(value) {
    if (value === null || !Number.isFinite(value)) return;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
    if (value > 0) this.minPositive = Math.min(this.minPositive, value);
  }

  /** Append one (train, test) point at `epoch`; null (not finite) leaves a gap. */
  add(epoch, train, test) {
    this.epochs.push(epoch);
    [train, test].forEach((value, i) => {
      this.series[i].push(value);
      this.include(value);
    });
    if (this.epochs.length > MAX_POINTS) {
      const half = (values) => values.filter((_, index) => index % 2 === 0);
      this.series = this.series.map(half);
      this.epochs = half(this.epochs);
    }
    this.dirty = true;
  }

  /** Show `layer` (an object with draw(context, width, height, log)) instead of the series; null: the series. */
  setLayer(layer) {
    this.layer = layer;
    this.dirty = true;
  }

  setLog(on) {
    if (on === this.log) return;
    this.log = on;
    this.dirty = true;
  }

  /** Read the chart at a fraction of its width (null: stop reading). */
  readAt(fraction, pinned = this.pinned) {
    this.pointer = fraction === null ? null : Math.min(1, Math.max(0, fraction));
    this.pinned = fraction !== null && pinned;
    this.dirty = true;
  }

  listen() {
    const { canvas } = this;
    const fraction = (event) => {
      const box = canvas.getBoundingClientRect();
      return box.width ? (event.clientX - box.left) / box.width : 0;
    };
    const redraw = () => requestAnimationFrame(() => this.draw());
    canvas.addEventListener("pointermove", (event) => {
      // A mouse reads where it hovers (unless a click pinned the readout); a finger reads where it drags.
      if (event.pointerType === "mouse" && this.pinned) return;
      if (event.pointerType !== "mouse" && !event.buttons && !this.pinned) return;
      this.readAt(fraction(event), event.pointerType !== "mouse");
      redraw();
    });
    canvas.addEventListener("pointerdown", (event) => {
      // A tap (or click) pins the readout where it landed; a click on the pinned mouse readout releases it.
      const mouseUnpin = event.pointerType === "mouse" && this.pinned;
      this.readAt(fraction(event), !mouseUnpin);
      redraw();
    });
    canvas.addEventListener("pointerleave", (event) => {
      if (event.pointerType === "mouse" && !this.pinned) { this.readAt(null); redraw(); }
    });
    // A tap or click anywhere else puts the readout away.
    document.addEventListener("pointerdown", (event) => {
      if (event.target !== canvas && this.pointer !== null && !event.target.closest?.(".chart-footer")) {
        this.readAt(null);
        redraw();
      }
    });
    canvas.addEventListener("keydown", (event) => {
      const count = this.epochs.length;
      if (!count) return;
      const index = this.pointer === null ? count - 1 : Math.round(this.pointer * (count - 1));
      let next = null;
      if (event.key === "ArrowLeft") next = index - 1;
      else if (event.key === "ArrowRight") next = index + 1;
      else if (event.key === "Home") next = 0;
      else if (event.key === "End") next = count - 1;
      else if (event.key === "Escape") { this.readAt(null); redraw(); event.preventDefault(); return; }
      if (next === null) return;
      event.preventDefault();              // the page's own → (step) must not fire while reading the chart
      this.readAt(count > 1 ? Math.min(count - 1, Math.max(0, next)) / (count - 1) : 0, true);
      redraw();
    });
    canvas.addEventListener("blur", () => {
      if (this.pinned && !canvas.matches(":hover")) { this.readAt(null); redraw(); }
    });
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    const { canvas, context } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (!width || !height) return;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    if (this.layer) { this.layer.draw(context, width, height, this.log); return; }
    const count = this.epochs.length;
    this.showReadout(count);
    if (count < 2 || !(this.max >= this.min)) return;
    const y = this.scale(height);
    let x = (i) => (i / (count - 1)) * width;
    context.lineJoin = "round";
    if (this.branches.length) {
      const last = Math.max(this.epochs[count - 1], ...this.branches.map((b) => b.epochs[b.epochs.length - 1] ?? 0));
      const first = this.epochs[0], span = last - first || 1;
      const atEpoch = (epoch) => ((epoch - first) / span) * width;
      x = (i) => atEpoch(this.epochs[i]);
      context.setLineDash([4, 3]);
      context.lineWidth = 1.25;
      for (const branch of this.branches) {
        for (const values of [branch.train, branch.test]) {
          this.stroke(values.length, (i) => atEpoch(branch.epochs[i]), (i) => values[i], y, branch.color);
        }
      }
      context.setLineDash([]);
    }
    context.lineWidth = 1.5;
    this.series.forEach((values, s) => this.stroke(count, x, (i) => values[i], y, this.colors[s]));
    if (this.pointer !== null) {
      const index = Math.round(this.pointer * (count - 1));
      const at = Math.round(x(index)) + 0.5;
      context.lineWidth = 1;
      context.strokeStyle = "rgba(0, 0, 0, 0.35)";
      context.beginPath();
      context.moveTo(at, 0);
      context.lineTo(at, height);
      context.stroke();
      this.series.forEach((values, s) => {
        const v = values[index];
        if (v === null || !Number.isFinite(v)) return;
        context.fillStyle = this.colors[s];
        context.beginPath();
        context.arc(at, y(v), 2.5, 0, 2 * Math.PI);
        context.fill();
      });
    }
  }

  /** One curve of `count` points (a gap where a value is not finite). */
  stroke(count, x, value, y, color) {
    const { context } = this;
    context.beginPath();
    let drawing = false;
    for (let i = 0; i < count; i++) {
      const v = value(i);
      if (v === null || !Number.isFinite(v)) { drawing = false; continue; }
      if (drawing) context.lineTo(x(i), y(v));
      else context.moveTo(x(i), y(v));
      drawing = true;
    }
    context.strokeStyle = color;
    context.stroke();
  }

  /** value -> y in CSS pixels, linear or log10 over the values since the reset. */
  scale(height) {
    const inner = height - 2 * PAD;
    if (this.log && this.minPositive < Infinity) {
      const low = Math.log10(this.minPositive), high = Math.log10(Math.max(this.max, this.minPositive));
      const span = high - low || 1;
      return (v) => PAD + (1 - (Math.log10(Math.max(v, this.minPositive)) - low) / span) * inner;
    }
    const span = this.max - this.min || 1;
    return (v) => PAD + (1 - (v - this.min) / span) * inner;
  }

  showReadout(count) {
    if (!this.readout) return;
    let text = this.idleText;
    if (this.pointer !== null && count) {
      const index = Math.round(this.pointer * (count - 1));
      text = `Epoch ${this.epochs[index].toLocaleString("en")}: training ${readable(this.series[0][index])}, ` +
        `test ${readable(this.series[1][index])}`;
    }
    if (this.readout.textContent !== text) this.readout.textContent = text;
    const reading = this.pointer !== null;
    if (this.readout.classList.contains("reading") !== reading) this.readout.classList.toggle("reading", reading);
  }
}
