// The top bar's selects, the data column's sliders, the view checkboxes and the dataset picker, all built from the
// server's options table (page data): names, labels, choices and limits come from there, never from a copy here.
import { pointColor } from "./colors.js";

// How values read on screen (TF's wording); anything not listed is shown as is.
const DISPLAY_NAMES = {
  relu: "ReLU", tanh: "Tanh", sigmoid: "Sigmoid", linear: "Linear",
  none: "None", L1: "L1", L2: "L2",
  sgd: "SGD", momentum: "Momentum", adam: "Adam", rmsprop: "RMSprop", squared: "Squared error",
  crossEntropy: "Cross-entropy",
  classification: "Classification", regression: "Regression",
  circle: "Circle", xor: "Exclusive or", gauss: "Gaussian", spiral: "Spiral",
  "reg-plane": "Plane", "reg-gauss": "Multi gaussian",
};
export const displayName = (value) => DISPLAY_NAMES[value] ?? String(value);

// TF's noise slider stops at 50 although links may carry up to the option's maximum (80); a link with more raises
// the slider's maximum to its value, as TF does.
const SLIDER_UI_MAXIMUM = { noise: 50 };
const PERCENT_SLIDERS = new Set(["percTrainData"]);

function element(name, className, text) {
  const node = document.createElement(name);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

let uid = 0;

/** A <select> for a choice option, or a float option that offers choices (learning rate, regularization rate). */
function buildSelect(holder, option, onChange) {
  const id = `control-${option.name}-${uid++}`;
  const label = element("label", "label", option.label);
  label.htmlFor = id;
  const select = element("select");
  select.id = id;
  const numeric = option.kind !== "choice";
  const addChoice = (value) => {
    const item = element("option", null, numeric ? String(value) : displayName(value));
    item.value = String(value);
    select.append(item);
    return item;
  };
  option.choices.forEach(addChoice);
  select.addEventListener("change", () => onChange({ [option.name]: numeric ? Number(select.value) : select.value }));
  const wrap = element("div", "select-wrap");
  wrap.append(select);
  holder.append(label, wrap);
  return (value) => {
    const text = String(value);
    // A link may carry a value between the offered choices; show it rather than a wrong one.
    if (![...select.options].some((item) => item.value === text)) addChoice(value).classList.add("extra");
    if (select.value !== text) select.value = text;
  };
}

/** A range slider with TF's "Label: value" caption, sending on every input (TF reacts while dragging). */
function buildSlider(holder, option, onChange) {
  const id = `control-${option.name}-${uid++}`;
  const label = element("label", "label");
  label.htmlFor = id;
  const caption = element("span", "value");
  const percent = PERCENT_SLIDERS.has(option.name);
  label.append(`${option.label}:  `, caption);
  const input = element("input");
  input.type = "range";
  input.id = id;
  input.min = String(option.minimum);
  const uiMaximum = Math.min(option.maximum, SLIDER_UI_MAXIMUM[option.name] ?? option.maximum);
  input.max = String(uiMaximum);
  input.step = String(option.step ?? 1);
  const show = (value) => { caption.textContent = percent ? `${value}%` : String(value); };
  input.addEventListener("input", () => {
    show(input.value);
    onChange({ [option.name]: Number(input.value) });
  });
  holder.append(label, input);
  return (value) => {
    const max = Math.max(uiMaximum, Math.min(option.maximum, Number(value)));
    if (Number(input.max) !== max) input.max = String(max);
    if (input.value !== String(value)) input.value = String(value);
    show(value);
  };
}

function buildCheckbox(holder, option, onChange) {
  const label = element("label", "checkbox");
  const input = element("input");
  input.type = "checkbox";
  label.append(input, " ", element("span", null, option.label));
  input.addEventListener("change", () => onChange({ [option.name]: input.checked }));
  holder.append(label);
  return (value) => { input.checked = Boolean(value); };
}

/** A number field for a numeric option with a wide range and no offered choices (e.g. "stop after N epochs"). */
function buildNumber(holder, option, onChange) {
  const id = `control-${option.name}-${uid++}`;
  const label = element("label", "label", option.label);
  label.htmlFor = id;
  const input = element("input");
  input.type = "number";
  input.id = id;
  input.min = String(option.minimum);
  input.max = String(option.maximum);
  input.step = option.kind === "int" ? "1" : "any";
  input.addEventListener("change", () => {
    if (input.value !== "") onChange({ [option.name]: Number(input.value) });
  });
  holder.append(label, input);
  return (value) => {
    if (document.activeElement !== input && input.value !== String(value)) input.value = String(value);
  };
}

function buildControl(holder, option, onChange, { slider = true } = {}) {
  if (option.kind === "bool") return buildCheckbox(holder, option, onChange);
  if (option.choices && option.choices.length) return buildSelect(holder, option, onChange);
  if (option.kind === "int" || option.kind === "float") {
    return slider && option.step ? buildSlider(holder, option, onChange) : buildNumber(holder, option, onChange);
  }
  return null;
}

/**
 * Fill every `[data-option]` holder under `root` with the control its option's kind calls for; options that have
 * no place on the page and are not in `placedElsewhere` (features, datasets, shape, seed) get a control in
 * `extraRoot`, so an option added to the server's table shows up without a change here.
 * Returns render(config), which sets every control from a config without firing change events.
 */
export function buildControls(root, table, onChange, { extraRoot, placedElsewhere }) {
  const setters = [];
  const placed = new Set(placedElsewhere);
  for (const holder of root.querySelectorAll("[data-option]")) {
    const option = table.get(holder.dataset.option);
    if (!option) continue;
    placed.add(option.name);
    const set = buildControl(holder, option, onChange);
    if (set) setters.push([option.name, set]);
  }
  for (const option of table.list) {
    if (placed.has(option.name) || !extraRoot) continue;
    const holder = element("div", `extra-control ui-${option.name}`);
    const set = buildControl(holder, option, onChange, { slider: false });
    if (!set) continue;
    holder.title = option.allowed ? `Allowed: ${option.allowed}` : "";
    extraRoot.append(holder);
    setters.push([option.name, set]);
  }
  if (extraRoot && !extraRoot.children.length) extraRoot.closest("details")?.setAttribute("hidden", "");
  return (config) => {
    for (const [name, set] of setters) if (config[name] !== undefined && config[name] !== null) set(config[name]);
  };
}

const THUMBNAIL_PIXELS = 100;

/**
 * TF's dataset picker: one thumbnail per dataset of the current problem type (200 noise-free points as 4×4 px
 * squares on a 100×100 canvas). A click picks it: `dataset` for classification, `regDataset` for regression.
 */
export function buildDatasetPicker(root, table, thumbnails, onChange) {
  const groups = ["dataset", "regDataset"].map((name) => {
    const option = table.get(name);
    return option.choices.map((choice) => {
      const button = element("button", "dataset");
      button.type = "button";
      button.title = displayName(choice);
      button.setAttribute("aria-label", `Dataset: ${displayName(choice)}`);
      button.dataset.choice = choice;
      const canvas = element("canvas");
      canvas.width = THUMBNAIL_PIXELS;
      canvas.height = THUMBNAIL_PIXELS;
      drawDatasetThumbnail(canvas, thumbnails[choice] || []);
      button.append(canvas);
      button.addEventListener("click", () => onChange({ [name]: choice }));
      root.append(button);
      return { name, choice, button };
    });
  }).flat();
  return (config) => {
    const shownGroup = config.problem === "regression" ? "regDataset" : "dataset";
    for (const { name, choice, button } of groups) {
      button.hidden = name !== shownGroup;
      const selected = config[name] === choice;
      button.classList.toggle("selected", selected);
      button.setAttribute("aria-pressed", String(selected));
    }
  };
}

function drawDatasetThumbnail(canvas, points) {
  const context = canvas.getContext("2d");
  const scale = THUMBNAIL_PIXELS / 12;
  for (const [x, y, label] of points) {
    context.fillStyle = pointColor(label);
    context.fillRect((x + 6) * scale, (6 - y) * scale, 4, 4);
  }
}
