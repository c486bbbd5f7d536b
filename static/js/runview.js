// One learner's run, read-only: the big map with the data, the network diagram and the loss chart, as the
// playground draws them (the same modules). Used by the teacher's wall (a tile opened full size) and by the
// projector. Frames are drawn once per animation frame, the newest only, and acknowledged after drawing.
import { asBytes, base64Bytes, byteLookup } from "./colors.js";
import { formatEpoch, formatLoss } from "./format.js";
import { decodeFrame } from "./frames.js";
import { OutputMap } from "./heatmap.js";
import { LossChart } from "./linechart.js";
import { NetworkDiagram } from "./network.js";

const READ_ONLY = { toggleFeature() {}, focus() {}, previewFeature() {}, changeNeurons() {}, editParameter() {} };

export class RunView {
  /** root holds .heatmap, canvas.linechart, optionally .network (with .layer-controls and .diagram), and
   * [data-run=epoch|testLoss|trainLoss|status] elements for the numbers. */
  constructor(root, pageData) {
    this.root = root;
    this.outputMap = new OutputMap(root.querySelector(".heatmap"));
    this.chart = new LossChart(root.querySelector("canvas.linechart"));
    const network = root.querySelector(".network");
    this.diagram = network && new NetworkDiagram(network, {
      features: pageData.features.map((name) => ({ name, label: name })),
      featureBytes: base64Bytes(pageData.featureThumbnails),
      hooks: READ_ONLY,
    });
    this.lookup = byteLookup();
    this.pending = null;
    this.acks = [];
    this.scheduled = false;
    this.lastEpoch = null;
  }

  /** A new run is shown: forget the old one's chart. */
  clear() {
    this.chart.clear();
    this.lastEpoch = null;
    this.chart.draw();
  }

  frame(payload, ack) {
    this.step(payload);  // a frame carries its step's result: the chart's point
    decodeFrame(payload).then((frame) => {
      this.pending = frame;
      if (typeof ack === "function") this.acks.push(ack);
      this.schedule();
    }, () => { if (typeof ack === "function") ack(); });
  }

  step(result) {
    if (this.lastEpoch !== null && result.epoch <= this.lastEpoch) {
      if (result.epoch === this.lastEpoch) return;
      this.chart.clear();                  // a reset (a pushed config): a new chart
    }
    this.lastEpoch = result.epoch;
    this.chart.add(result.epoch, result.trainLoss, result.testLoss);
  }

  dataset(data) {
    const bytes = asBytes(data.points);
    const points = new Float32Array(bytes.slice().buffer);
    this.outputMap.setData(points, data.trainCount);
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.scheduled = false;
    const frame = this.pending, acks = this.acks;
    this.pending = null;
    this.acks = [];
    try {
      if (frame) {
        this.outputMap.paint(frame.heatmap, this.lookup);
        if (this.diagram) {
          const rebuilt = this.diagram.setStructure(frame.layerSizes, frame.features, new Set());
          this.diagram.update(frame, frame.thumbnails, this.lookup, rebuilt);
        }
        this.show("epoch", formatEpoch(frame.epoch));
        this.show("testLoss", formatLoss(frame.testLoss));
        this.show("trainLoss", formatLoss(frame.trainLoss));
        this.show("status", frame.status);
      }
      this.chart.draw();
    } finally {
      for (const ack of acks) ack();
    }
  }

  show(name, text) {
    const target = this.root.querySelector(`[data-run="${name}"]`);
    if (target && target.textContent !== text) target.textContent = text;
  }
}
