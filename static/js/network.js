// The network diagram: the seven input features, the hidden layers and the output, as TF Playground draws them.
//
// Nodes are small canvases (10×10 maps scaled to 30×30 by CSS) in absolutely placed divs; links and bias squares
// are one SVG underneath. The DOM is built only when the structure (layer sizes, active features) changes; a frame
// then only repaints thumbnails whose bytes changed and sets link and bias attributes whose value changed.
import { continuousColor } from "./colors.js";
import { element } from "./dom.js";
import { PixelMap } from "./heatmap.js";

const NS = "http://www.w3.org/2000/svg";
const BIAS = 5;                  // px, TF's BIAS_SIZE
const THUMB_BYTES = 100;         // 10×10 bytes per node
const NARROW_COLUMN = 64;        // px between columns below which captions shorten

/** TF's linkWidthScale: |w| over [0, 5] -> [1, 10] px, clamped; in quarter pixels so unchanged widths are skipped. */
function linkWidth(weight) {
  if (weight === null || !Number.isFinite(weight)) return "1";
  const px = 1 + (Math.min(5, Math.abs(weight)) / 5) * 9;
  return String(Math.round(px * 4) / 4);
}

function svgElement(name, attributes = {}) {
  const element = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

/** TF's d3.svg.diagonal: a cubic Bézier leaving and entering horizontally. */
function diagonal(x0, y0, x1, y1) {
  const mx = (x0 + x1) / 2;
  return `M${x0},${y0}C${mx},${y0} ${mx},${y1} ${x1},${y1}`;
}

export class NetworkDiagram {
  /**
   * root: the .network column element (holds .layer-controls and .diagram).
   * features: [{name, label}] in the options table's order. featureBytes: 7×100 bytes of their 10×10 maps.
   * hooks: toggleFeature(name, on), focus(nodeIndex | null, label), previewFeature(name | null) (an inactive
   *        feature hovered, or left), changeNeurons(layer, delta), editParameter({layer, node, source, value}).
   */
  constructor(root, { features, featureBytes, hooks }) {
    this.root = root;
    this.controls = root.querySelector(".layer-controls");
    this.diagram = root.querySelector(".diagram");
    this.features = features;
    this.featureBytes = featureBytes;
    this.hooks = hooks;
    this.structureKey = null;
    this.pinned = null;             // node index focused by a click or tap (null: the output)
    this.hovered = undefined;       // node index under the mouse or keyboard focus, if any
    this.parameters = null;         // {weights, biases, dead} of the newest frame
    this.thumbBytes = new Uint8Array(0);
    this.card = new ParameterCard(this);
    new ResizeObserver(() => this.layout()).observe(this.diagram);
  }

  /** Build the DOM for a structure, unless it is the one already drawn. Returns whether it was rebuilt. */
  setStructure(layerSizes, activeFeatures, hiddenControls) {
    const key = JSON.stringify([layerSizes, activeFeatures, [...hiddenControls].sort()]);
    if (key === this.structureKey) return false;
    this.structureKey = key;
    this.card.close();
    this.resetFocus();
    this.layerSizes = layerSizes;
    this.thumbBytes = new Uint8Array(0);
    this.build(layerSizes, activeFeatures, hiddenControls);
    this.layout();
    return true;
  }

  build(layerSizes, activeFeatures, hiddenControls) {
    this.diagram.replaceChildren();
    this.controls.replaceChildren();
    this.svg = svgElement("svg", { class: "links", "aria-hidden": "true" });
    this.linkGroup = svgElement("g", { class: "link-lines" });
    this.hitGroup = svgElement("g", { class: "link-hits" });
    this.biasGroup = svgElement("g", { class: "biases" });
    this.svg.append(this.linkGroup, this.biasGroup, this.hitGroup);
    this.diagram.append(this.svg);

    // columns[c] = the nodes drawn in column c; each {index (node index or null), column, row, element, ...}.
    const columns = [];
    const inputs = [];
    this.features.forEach((feature) => {
      if (hiddenControls.has(feature.name)) return;     // `<feature>_hide=true` removes it, as in TF
      const position = activeFeatures.indexOf(feature.name);
      inputs.push(this.makeInput(feature, position < 0 ? null : position, inputs.length));
    });
    columns.push(inputs);
    let start = layerSizes[0];
    for (let layer = 1; layer < layerSizes.length; layer++) {
      const output = layer === layerSizes.length - 1;
      const nodes = [];
      for (let j = 0; j < layerSizes[layer]; j++) nodes.push(this.makeNeuron(layer, j, start + j, output));
      columns.push(nodes);
      start += layerSizes[layer];
      if (!output) this.controls.append(this.makeLayerControl(layer, layerSizes[layer], hiddenControls));
    }
    this.columns = columns;
    this.nodes = columns.flat();

    // Links: weight layer l joins column l to column l + 1, entering node t from source s (active inputs only).
    this.links = [];
    for (let l = 0; l + 1 < columns.length; l++) {
      const sources = l === 0 ? inputs.filter((node) => node.index !== null) : columns[l];
      const sourceOrder = l === 0 ? sources.slice().sort((a, b) => a.index - b.index) : sources;
      columns[l + 1].forEach((target, t) => {
        sourceOrder.forEach((source, s) => {
          const line = svgElement("path", { class: "link" });
          const hit = svgElement("path", { class: "link-hit", "data-link": String(this.links.length),
                                           ...keyboardTarget(`Weight from ${nodeName(source)} to ${nodeName(target)}`) });
          this.linkGroup.append(line);
          this.hitGroup.append(hit);
          this.links.push({ layer: l, node: t, source: s, from: source, to: target, fan: [s, sourceOrder.length],
                            line, hit, color: "", width: "", dead: false });
        });
      });
    }
    // Bias squares on every hidden node and on the output.
    this.biasSquares = [];
    for (let c = 1; c < columns.length; c++) {
      columns[c].forEach((node, t) => {
        const square = svgElement("rect", { class: "bias", width: BIAS, height: BIAS });
        const hit = svgElement("rect", { class: "bias-hit", width: 15, height: 15,
                                         "data-bias": String(this.biasSquares.length),
                                         ...keyboardTarget(`Bias of ${nodeName(node)}`) });
        this.biasGroup.append(square);
        this.hitGroup.append(hit);
        this.biasSquares.push({ layer: c - 1, node: t, owner: node, square, hit, color: "" });
      });
    }
    this.card.attach(this.svg);
    this.paintInputs(this.lookup);
  }

  makeInput(feature, index, row) {
    const box = element("div", `node input ui-${feature.name}` + (index === null ? " inactive" : ""));
    box.setAttribute("role", "button");
    box.tabIndex = 0;
    box.setAttribute("aria-pressed", String(index !== null));
    box.setAttribute("aria-label", `Input ${feature.label}: ${index === null ? "off" : "on"}. Activate to ` +
      `turn it ${index === null ? "on" : "off"}`);
    const canvas = element("canvas");
    const label = element("div", "feature-label" + (index === null ? " inactive" : ""), feature.label);
    box.append(canvas);
    this.diagram.append(box, label);
    const node = { kind: "input", feature: feature.name, index, column: 0, row, element: box, label,
                   map: new PixelMap(canvas, 10), bytesAt: this.features.indexOf(feature) * THUMB_BYTES };
    this.wireNode(node, () => this.hooks.toggleFeature(feature.name, index === null));
    return node;
  }

  makeNeuron(layer, j, index, output) {
    const box = element("div", output ? "node output" : "node hidden-node");
    box.setAttribute("role", "button");
    box.tabIndex = 0;
    const name = output ? "the output" : `neuron ${j + 1} of hidden layer ${layer}`;
    box.setAttribute("aria-label", `Show ${name} in the big map`);
    box.title = output ? "Output" : `Neuron ${j + 1}, layer ${layer}: hover or tap to see it larger`;
    const canvas = element("canvas");
    box.append(canvas);
    this.diagram.append(box);
    const node = { kind: output ? "output" : "hidden", index, column: layer, row: j, element: box, name,
                   map: new PixelMap(canvas, 10) };
    const focusIndex = output ? null : index;
    this.wireNode(node, () => this.pin(this.pinned === focusIndex ? null : focusIndex));
    return node;
  }

  /** Hover (mouse) or keyboard focus shows a node large while it lasts; a click or tap pins it. */
  wireNode(node, activate) {
    const { element } = node;
    const focusIndex = node.kind === "output" ? null : node.index;
    const inactive = node.kind === "input" && node.index === null;
    const enter = () => (inactive ? this.hooks.previewFeature(node.feature) : this.hover(focusIndex));
    const leave = () => (inactive ? this.hooks.previewFeature(null) : this.hover(undefined));
    element.addEventListener("pointerenter", (event) => { if (event.pointerType === "mouse") enter(); });
    element.addEventListener("pointerleave", (event) => { if (event.pointerType === "mouse") leave(); });
    // Keyboard focus only: a click or tap also focuses the element, and must pin rather than hover.
    element.addEventListener("focus", () => { if (element.matches(":focus-visible")) enter(); });
    element.addEventListener("blur", leave);
    element.addEventListener("click", activate);
    element.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); activate(); }
    });
  }

  hover(index) {
    this.hovered = index;
    this.showFocus();
  }

  pin(index) {
    this.pinned = index;
    this.showFocus();
  }

  /** The node shown large: the hovered one, else the pinned one, else the output. */
  focusedNode() {
    return this.hovered !== undefined ? this.hovered : this.pinned;
  }

  showFocus() {
    const focus = this.focusedNode();
    for (const node of this.nodes || []) {
      const index = node.kind === "output" ? null : node.index;
      node.element.classList.toggle("focused", index === focus && (focus !== null || node.kind === "output"));
    }
    this.hooks.focus(focus, this.focusLabel(focus));
  }

  /** How the big map's caption names a node (null for the output). */
  focusLabel(index) {
    const shown = this.nodes?.find((node) => node.index === index && node.kind !== "output");
    return shown ? nodeName(shown) : null;
  }

  /** Forget focus on a rebuild: node indices of the old structure mean other nodes now. */
  resetFocus() {
    this.pinned = null;
    this.hovered = undefined;
  }

  makeLayerControl(layer, size, hiddenControls) {
    const box = element("div", `layer-control ui-numNodes${layer}`);
    if (hiddenControls.has(`numNodes${layer}`)) box.classList.add("ui-hidden");
    const buttons = element("div", "buttons");
    const plus = element("button", "icon-button small");
    plus.type = "button";
    plus.setAttribute("aria-label", `Add a neuron to hidden layer ${layer}`);
    plus.append(icon("add"));
    const minus = element("button", "icon-button small");
    minus.type = "button";
    minus.setAttribute("aria-label", `Remove a neuron from hidden layer ${layer}`);
    minus.append(icon("remove"));
    plus.addEventListener("click", () => this.hooks.changeNeurons(layer - 1, +1));
    minus.addEventListener("click", () => this.hooks.changeNeurons(layer - 1, -1));
    buttons.append(plus, minus);
    const caption = element("div", "caption");
    caption.append(String(size), element("span", "unit", size === 1 ? " neuron" : " neurons"));
    box.append(buttons, caption);
    box.dataset.column = String(layer);
    return box;
  }

  /** Place nodes, links and layer controls for the current width. Runs on rebuilds and resizes only. */
  layout() {
    if (!this.columns) return;
    const width = this.diagram.clientWidth;
    if (!width) return;
    const labelWidth = width < 420 ? 52 : 64;
    const last = this.columns.length - 1;
    // TF's 30 px nodes, shrunk on a phone when six layers must share its width.
    const spacing = (width - 2 - labelWidth) / Math.max(1, last);
    const nodeSize = Math.max(18, Math.min(30, Math.floor(spacing * 0.62)));
    const rowStep = nodeSize === 30 ? 55 : nodeSize + 16;
    this.root.style.setProperty("--node", `${nodeSize}px`);
    const outputLeft = width - nodeSize - 2;
    const columnLeft = (c) => c === 0 ? labelWidth : c === last ? outputLeft
      : labelWidth + ((outputLeft - labelWidth) * c) / last;
    this.root.classList.toggle("narrow", spacing < NARROW_COLUMN);
    const rows = Math.max(...this.columns.map((nodes) => nodes.length));
    this.diagram.style.height = `${(rows - 1) * rowStep + nodeSize + 10}px`;
    for (const node of this.nodes) {
      node.x = columnLeft(node.column);
      node.y = node.row * rowStep;
      node.element.style.left = `${node.x}px`;
      node.element.style.top = `${node.y}px`;
      if (node.label) {
        node.label.style.top = `${node.y}px`;
        node.label.style.width = `${labelWidth - 6}px`;
      }
    }
    this.svg.setAttribute("width", String(width));
    this.svg.setAttribute("height", String(rows * rowStep + 10));
    for (const link of this.links) {
      const [index, count] = link.fan;
      const x0 = link.from.x + nodeSize + 2, y0 = link.from.y + nodeSize / 2;
      const x1 = link.to.x, y1 = link.to.y + nodeSize / 2 + ((index - (count - 1) / 2) / count) * 12;
      const d = diagonal(x0, y0, x1, y1);
      link.line.setAttribute("d", d);
      link.hit.setAttribute("d", d);
    }
    for (const bias of this.biasSquares) {
      const x = bias.owner.x - BIAS - 2, y = bias.owner.y + nodeSize - BIAS + 3;
      bias.square.setAttribute("x", String(x));
      bias.square.setAttribute("y", String(y));
      bias.hit.setAttribute("x", String(x - 5));
      bias.hit.setAttribute("y", String(y - 5));
    }
    for (const box of this.controls.children) {
      box.style.left = `${columnLeft(Number(box.dataset.column)) + nodeSize / 2}px`;
    }
  }

  /** Paint the (static) input thumbnails, e.g. after a rebuild or when "Discretize output" changes. */
  paintInputs(lookup) {
    this.lookup = lookup;
    if (!lookup || !this.nodes) return;
    for (const node of this.nodes) {
      if (node.kind === "input") node.map.paint(this.featureBytes, node.bytesAt, lookup);
    }
  }

  /** Apply one map_update: thumbnails whose bytes changed (all of them when `force`), links, biases. */
  update(frame, thumbnails, lookup, force) {
    if (force || lookup !== this.lookup) this.paintInputs(lookup);
    const previous = this.thumbBytes;
    for (const node of this.nodes) {
      if (node.kind === "input") continue;     // inputs' maps never change: painted from the page data
      const offset = node.index * THUMB_BYTES;
      if (force || !sameBytes(previous, thumbnails, offset, THUMB_BYTES)) node.map.paint(thumbnails, offset, lookup);
    }
    this.thumbBytes = thumbnails;
    this.parameters = { weights: frame.weights, biases: frame.biases, dead: frame.dead };
    const { weights, biases, dead } = frame;
    for (const link of this.links) {
      const weight = weights[link.layer]?.[link.node]?.[link.source] ?? null;
      const isDead = Boolean(dead?.[link.layer]?.[link.node]?.[link.source]);
      if (isDead !== link.dead) {
        link.dead = isDead;
        link.line.classList.toggle("dead", isDead);
      }
      const color = continuousColor(weight), width = linkWidth(weight);
      if (color !== link.color) { link.color = color; link.line.setAttribute("stroke", color); }
      if (width !== link.width) { link.width = width; link.line.setAttribute("stroke-width", width); }
    }
    for (const bias of this.biasSquares) {
      const color = continuousColor(biases[bias.layer]?.[bias.node] ?? null);
      if (color !== bias.color) { bias.color = color; bias.square.setAttribute("fill", color); }
    }
    this.card.refresh();
  }

  /** TF's flowing dashes: one style write on the group, inherited by every link. */
  flow(offset) {
    if (this.linkGroup) this.linkGroup.style.strokeDashoffset = String(offset);
  }
}

function sameBytes(a, b, offset, length) {
  if (a.length < offset + length) return false;
  for (let i = offset; i < offset + length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const ICONS = {
  add: "M19 13h-6v6h-2v-6H5v-2h6V5h2v6h6v2z",
  remove: "M19 13H5v-2h14v2z",
};

/** A Material icon as inline SVG (no icon font: the page loads nothing from other hosts). */
export function icon(name) {
  const svg = svgElement("svg", { viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false",
                                  class: "icon" });
  svg.append(svgElement("path", { d: ICONS[name] }));
  return svg;
}

function nodeName(node) {
  return node.kind === "input" ? `input ${node.label.textContent}` : node.name;
}

/** Links and bias squares are reachable with Tab, and Enter or Space opens their editor. */
function keyboardTarget(label) {
  return { tabindex: "0", role: "button", "aria-label": `${label}: Enter to edit` };
}

// A number as a person types it: digits with an optional sign, point and exponent (not hex, not "Infinity").
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
let cardCount = 0;

/**
 * The hover card of TF: "Weight is 0.12" / "Bias is 0.10" over a link or bias square, and a click (or tap) turns
 * it into an editor; so does Enter or Space on one that has the keyboard focus. Unlike TF's, the shown value follows
 * training while the card is open.
 */
class ParameterCard {
  constructor(diagram) {
    this.diagram = diagram;
    this.element = element("div", "hovercard");
    this.element.hidden = true;
    this.element.setAttribute("role", "dialog");
    this.text = element("div", "card-text");
    // A text field, not type=number: that one reads a value it cannot hold (1e400) as empty, so the card could not
    // say what was wrong with it.
    this.input = element("input");
    this.input.type = "text";
    this.input.inputMode = "decimal";
    this.input.spellcheck = false;
    this.input.autocomplete = "off";
    this.input.hidden = true;
    this.hint = element("div", "card-hint");
    this.hint.id = `card-hint-${cardCount++}`;
    this.input.setAttribute("aria-describedby", this.hint.id);
    this.element.append(this.text, this.input, this.hint);
    this.target = null;           // {kind: "weight"|"bias", item}
    this.editing = false;
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); if (this.commit()) this.close(); }
      if (event.key === "Escape") { event.preventDefault(); this.close(); }
    });
    this.input.addEventListener("change", () => this.commit());
    document.addEventListener("pointerdown", (event) => {
      if (this.editing && !this.element.contains(event.target) && !event.target.closest?.(".link-hit, .bias-hit")) {
        this.close();
      }
    });
  }

  attach(svg) {
    this.diagram.diagram.append(this.element);
    svg.addEventListener("pointerover", (event) => {
      if (event.pointerType !== "mouse" || this.editing) return;
      const target = this.targetOf(event.target);
      if (target) this.open(target, event, false);
    });
    svg.addEventListener("pointerout", (event) => {
      if (!this.editing && this.targetOf(event.target)) this.close();
    });
    svg.addEventListener("click", (event) => {
      const target = this.targetOf(event.target);
      if (target) this.open(target, event, true);
    });
    svg.addEventListener("keydown", (event) => {
      const target = this.targetOf(event.target);
      if (!target || (event.key !== "Enter" && event.key !== " ")) return;
      event.preventDefault();              // not the page's Space shortcut
      const box = event.target.getBoundingClientRect();
      this.open(target, { clientX: box.left + box.width / 2, clientY: box.top + box.height / 2 }, true);
    });
  }

  targetOf(element) {
    const { diagram } = this;
    if (element.dataset?.link !== undefined) return { kind: "weight", item: diagram.links[+element.dataset.link] };
    if (element.dataset?.bias !== undefined) return { kind: "bias", item: diagram.biasSquares[+element.dataset.bias] };
    return null;
  }

  value() {
    const parameters = this.diagram.parameters;
    if (!parameters || !this.target) return null;
    const { kind, item } = this.target;
    return kind === "weight" ? parameters.weights[item.layer]?.[item.node]?.[item.source] ?? null
      : parameters.biases[item.layer]?.[item.node] ?? null;
  }

  describe() {
    const { kind, item } = this.target;
    return kind === "weight" ? `Weight from ${nodeName(item.from)} to ${nodeName(item.to)}`
      : `Bias of ${nodeName(item.owner)}`;
  }

  open(target, event, edit) {
    this.target = target;
    this.editing = edit;
    const box = this.diagram.diagram.getBoundingClientRect();
    const x = Math.min(event.clientX - box.left + 12, box.width - 150);
    this.element.style.left = `${Math.max(0, x)}px`;
    this.element.style.top = `${event.clientY - box.top + 12}px`;
    this.element.hidden = false;
    this.input.hidden = !edit;
    this.input.setAttribute("aria-label", this.describe());
    this.refresh(true);
    if (edit) {
      this.input.focus();
      this.input.select();
    }
  }

  /** Live value in read mode; in edit mode the input is left alone (the user is typing). */
  refresh(initial = false) {
    if (!this.target || this.element.hidden) return;
    const value = this.value();
    const { kind, item } = this.target;
    const shown = value === null ? "NaN" : value.toPrecision(2);
    const dead = kind === "weight" && item.dead ? " (dead: L1 regularization removed this link)" : "";
    const label = kind === "weight" ? "Weight" : "Bias";
    this.text.textContent = this.editing ? `${label}:` : `${label} is ${shown}${dead}`;
    if (initial) this.showProblem(null);
    if (initial && this.editing) this.input.value = value === null ? "" : String(value);
  }

  /** Under the field: how to use it, or what is wrong with what was typed (and what is allowed). */
  showProblem(problem) {
    this.hint.textContent = problem ?? (this.editing ? "Enter to set, Esc to cancel." : "Click to edit.");
    this.hint.classList.toggle("problem", Boolean(problem));
    this.hint.setAttribute("role", problem ? "alert" : "note");
    this.input.setAttribute("aria-invalid", String(Boolean(problem)));
  }

  /** Send the typed value; returns whether it was one (else the card says what is allowed and stays open). */
  commit() {
    if (!this.target || !this.editing) return false;
    const text = this.input.value.trim();
    const value = DECIMAL.test(text) ? Number(text) : NaN;
    const { kind, item } = this.target;
    if (!Number.isFinite(value)) {
      const what = kind === "weight" ? "A weight" : "A bias";
      const why = Number.isNaN(value) ? `“${text}” is not a number` : `${text} is too large`;
      this.showProblem(`${why}. ${what} must be a finite number, such as 0.5, -2 or 1e-3 (at most about 1.8e308 ` +
                       "in size).");
      return false;
    }
    this.showProblem(null);
    this.diagram.hooks.editParameter({ layer: item.layer, node: item.node,
                                       source: kind === "weight" ? item.source : null, value });
    return true;
  }

  close() {
    this.element.hidden = true;
    this.target = null;
    this.editing = false;
  }
}
