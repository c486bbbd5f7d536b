// The loss chart: training loss (#777) and test loss (black), one point per step_result, cleared on reset.
// Like TF's: no axes, x = the point's index, y auto-scaled to the min and max of every value since the reset.
// Drawn on a canvas, and only when a point arrives (the caller schedules `draw` in its animation frame).

const MAX_POINTS = 1024;     // past this the series are halved (every other point); the shape stays the same

export class LossChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.series = [[], []];                     // [train, test]
    this.colors = ["#777", "black"];
    this.min = Infinity;
    this.max = -Infinity;
    this.dirty = true;
    new ResizeObserver(() => { this.dirty = true; this.draw(); }).observe(canvas);
  }

  clear() {
    this.series = [[], []];
    this.min = Infinity;
    this.max = -Infinity;
    this.dirty = true;
  }

  /** Append one (train, test) point; null (not finite) leaves a gap. */
  add(train, test) {
    [train, test].forEach((value, i) => {
      this.series[i].push(value);
      if (value !== null && Number.isFinite(value)) {
        this.min = Math.min(this.min, value);
        this.max = Math.max(this.max, value);
      }
    });
    if (this.series[0].length > MAX_POINTS) {
      this.series = this.series.map((values) => values.filter((_, index) => index % 2 === 0));
    }
    this.dirty = true;
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
    const count = this.series[0].length;
    if (count < 2 || !(this.max >= this.min)) return;
    const pad = 1.5;
    const span = this.max - this.min || 1;
    const x = (i) => (i / (count - 1)) * width;
    const y = (v) => pad + (1 - (v - this.min) / span) * (height - 2 * pad);
    context.lineWidth = 1.5;
    context.lineJoin = "round";
    this.series.forEach((values, s) => {
      context.beginPath();
      let drawing = false;
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (v === null || !Number.isFinite(v)) { drawing = false; continue; }
        if (drawing) context.lineTo(x(i), y(v));
        else context.moveTo(x(i), y(v));
        drawing = true;
      }
      context.strokeStyle = this.colors[s];
      context.stroke();
    });
  }
}
