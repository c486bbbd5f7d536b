// Heat maps: small canvases painted from the server's bytes, and the big output map with its data points and axes.
import { NAN_CODE, NAN_STRIPE, pointColor } from "./colors.js";

/**
 * An n×n canvas painted from n·n bytes through a 256-entry RGBA table. The canvas keeps its n×n pixels and CSS
 * scales it up smoothly, as TF does; one putImageData per paint and no allocation.
 */
export class PixelMap {
  constructor(canvas, size) {
    canvas.width = size;
    canvas.height = size;
    this.canvas = canvas;
    this.size = size;
    this.context = canvas.getContext("2d");
    this.image = this.context.createImageData(size, size);
    this.pixels = new Uint32Array(this.image.data.buffer);
  }

  /** Paint bytes[offset .. offset + size²) through `lookup`. */
  paint(bytes, offset, lookup) {
    const { pixels, size } = this;
    const count = size * size;
    for (let i = 0; i < count; i++) {
      const q = bytes[offset + i];
      // NaN: a grey stripe every third diagonal, computed only for NaN pixels.
      pixels[i] = q === NAN_CODE && ((i % size) + ((i / size) | 0)) % 3 === 0 ? NAN_STRIPE : lookup[q];
    }
    this.context.putImageData(this.image, 0, 0);
  }
}

const DOMAIN = 6;                                  // the plane is [-6, 6]², as in TF

/**
 * The output column's 100×100 map: the decision map (or a focused neuron's map) under the data points, with axes
 * over [-6, 6] on the bottom and the right like TF's. Points are drawn on their own canvas and only when the data,
 * "Show test data" or the size change, never per frame.
 */
export class OutputMap {
  constructor(root) {
    this.root = root;
    this.map = new PixelMap(root.querySelector("canvas.map"), 100);
    this.pointsCanvas = root.querySelector("canvas.points");
    this.plot = root.querySelector(".plot");
    this.points = null;            // Float32Array of (x, y, label) triples
    this.trainCount = 0;
    this.showTest = false;
    this.drawAxes(root.querySelector("svg.axes"));
    new ResizeObserver(() => this.drawPoints()).observe(this.plot);
  }

  paint(bytes, lookup) {
    this.map.paint(bytes, 0, lookup);
  }

  setData(points, trainCount) {
    this.points = points;
    this.trainCount = trainCount;
    this.drawPoints();
  }

  setShowTest(show) {
    if (show === this.showTest) return;
    this.showTest = show;
    this.drawPoints();
  }

  drawPoints() {
    const canvas = this.pointsCanvas;
    const cssSize = this.plot.clientWidth;
    if (!cssSize) return;
    const ratio = window.devicePixelRatio || 1;
    const pixels = Math.round(cssSize * ratio);
    if (canvas.width !== pixels) {
      canvas.width = pixels;
      canvas.height = pixels;
    }
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, cssSize, cssSize);
    if (!this.points) return;
    const scale = cssSize / (2 * DOMAIN);
    const { points, trainCount } = this;
    const count = this.showTest ? points.length / 3 : trainCount;
    context.lineWidth = 1;
    // Training points first, then the test points on top of them, as TF draws them: "Show test data" must show.
    for (let i = 0; i < count; i++) {
      const x = points[3 * i], y = points[3 * i + 1];
      if (Math.abs(x) > DOMAIN || Math.abs(y) > DOMAIN) continue;   // TF does not draw them (but trains on them)
      const test = i >= trainCount;
      context.beginPath();
      context.arc((x + DOMAIN) * scale, (DOMAIN - y) * scale, 3, 0, 2 * Math.PI);
      context.globalAlpha = 0.9;
      context.fillStyle = pointColor(points[3 * i + 2]);
      context.fill();
      context.globalAlpha = test ? 0.6 : 1;
      context.strokeStyle = test ? "black" : "white";
      context.stroke();
    }
    context.globalAlpha = 1;
  }

  /** Static SVG axes, ticks every unit over [-6, 6]; the tick at 0 is highlighted as in TF's CSS. */
  drawAxes(svg) {
    const NS = "http://www.w3.org/2000/svg";
    const size = 260, tick = 5;
    svg.setAttribute("viewBox", `0 0 ${size + 30} ${size + 24}`);
    const add = (parent, name, attributes, text) => {
      const element = document.createElementNS(NS, name);
      for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
      if (text !== undefined) element.textContent = text;
      parent.appendChild(element);
      return element;
    };
    const bottom = add(svg, "g", { class: "axis x-axis", transform: `translate(0,${size})` });
    const right = add(svg, "g", { class: "axis y-axis", transform: `translate(${size},0)` });
    add(bottom, "path", { d: `M0,${tick}V0H${size}V${tick}` });
    add(right, "path", { d: `M${tick},0H0V${size}H${tick}` });
    for (let v = -DOMAIN; v <= DOMAIN; v++) {
      const at = ((v + DOMAIN) / (2 * DOMAIN)) * size;
      const cls = v === 0 ? "tick zero" : "tick";
      const bx = add(bottom, "g", { class: cls, transform: `translate(${at},0)` });
      add(bx, "line", { y2: tick });
      add(bx, "text", { y: tick + 11, "text-anchor": "middle" }, String(v));
      const ry = add(right, "g", { class: cls, transform: `translate(0,${size - at})` });
      add(ry, "line", { x2: tick });
      add(ry, "text", { x: tick + 3, dy: "0.32em" }, String(v));
    }
  }
}
