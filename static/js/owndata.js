// Beyond TF Playground: the learner's own points, drawn on the output map. A click or tap on the map sends
// `add_point` (or `erase_points`) at the plane coordinates under the pointer; the server answers with a `dataset`
// event and the points redraw from it. Nothing is drawn here before the server has it.

const DOMAIN = 6;                 // the map shows [-6, 6]², y up (docs/protocol.md)
const ERASE_RADIUS = 0.5;
const DECIMALS = 1000;            // coordinates to 3 decimals: finer than a pixel, and a readable CSV

/**
 * The plane coordinates under a client point, over an element that shows [-6, 6]² in its content box (inside
 * border and padding, whatever its CSS size). Returns {x, y}; values outside ±6 are returned as they are (the
 * server says what is allowed).
 */
export function planeAt(element, clientX, clientY) {
  const box = element.getBoundingClientRect();
  const style = getComputedStyle(element);
  const left = box.left + element.clientLeft + parseFloat(style.paddingLeft);
  const top = box.top + element.clientTop + parseFloat(style.paddingTop);
  const width = element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const height = element.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  const round = (value) => Math.round(value * DECIMALS) / DECIMALS;
  return {
    x: round(-DOMAIN + (2 * DOMAIN * (clientX - left)) / width),
    y: round(DOMAIN - (2 * DOMAIN * (clientY - top)) / height),
  };
}

export class OwnData {
  /**
   * root: the "Your own data" <details>; plot: the element over which the map is drawn; heatmap: its container
   * (gets the classes `drawing-add` / `drawing-erase` for the cursor); send(event, payload) -> reply.
   */
  constructor({ root, plot, heatmap, send }) {
    this.root = root;
    this.plot = plot;
    this.heatmap = heatmap;
    this.send = send;
    this.mode = "off";
    this.problem = "classification";
    const $ = (selector) => root.querySelector(selector);
    this.addOptions = $("#draw-add-options");
    this.eraseOptions = $("#draw-erase-options");
    this.classChoice = $(".class-choice");
    this.valueSlider = $(".draw-value");
    this.valueInput = $("#draw-value");
    this.valueText = $("#draw-value-text");
    this.testBox = $("#draw-test");
    this.counts = $("#data-counts");
    for (const radio of root.querySelectorAll("input[name=draw-mode]")) {
      radio.addEventListener("change", () => { if (radio.checked) this.setMode(radio.value); });
    }
    this.valueInput.addEventListener("input", () => {
      this.valueText.textContent = Number(this.valueInput.value).toFixed(1);
    });
    // Closing the group stops drawing, so a click on the map never adds points the learner cannot see the mode of.
    root.addEventListener("toggle", () => { if (!root.open) this.setMode("off"); });
    // `click` is what a mouse click and a tap both give (not a scroll or a pinch).
    plot.addEventListener("click", (event) => this.clicked(event));
  }

  setMode(mode) {
    this.mode = mode;
    const radio = this.root.querySelector(`input[name=draw-mode][value=${mode}]`);
    if (radio && !radio.checked) radio.checked = true;
    this.addOptions.hidden = mode !== "add";
    this.eraseOptions.hidden = mode !== "erase";
    this.heatmap.classList.toggle("drawing-add", mode === "add");
    this.heatmap.classList.toggle("drawing-erase", mode === "erase");
  }

  /** Classes (±1) for classification, a value slider for regression. */
  setProblem(problem) {
    if (problem === this.problem) return;
    this.problem = problem;
    const regression = problem === "regression";
    this.classChoice.hidden = regression;
    this.valueSlider.hidden = !regression;
    this.root.classList.toggle("regression", regression);
  }

  setCounts(trainCount, testCount) {
    const text = `Now ${trainCount.toLocaleString("en")} training and ${testCount.toLocaleString("en")} test points.`;
    if (this.counts.textContent !== text) this.counts.textContent = text;
  }

  label() {
    if (this.problem === "regression") return Number(this.valueInput.value);
    return Number(this.root.querySelector("input[name=draw-class]:checked")?.value ?? 1);
  }

  clicked(event) {
    if (this.mode === "off") return;
    event.preventDefault();
    const { x, y } = planeAt(this.plot, event.clientX, event.clientY);
    if (this.mode === "add") {
      this.send("add_point", { x, y, label: this.label(), set: this.testBox.checked ? "test" : "train" });
    } else {
      this.send("erase_points", { x, y, radius: ERASE_RADIUS });
    }
  }
}
