// The top bar's selects, the data column's sliders, the view checkboxes and the dataset picker, all built from the
// server's options table (page data): names, labels, choices and limits come from there, never from a copy here.
import { pointColor } from "./colors.js";
import { element } from "./dom.js";

/** The server's options table (page data), by name. */
export class OptionsTable {
  constructor(options) {
    this.list = options;
    this.byName = new Map(options.map((option) => [option.name, option]));
  }

  get(name) {
    return this.byName.get(name);
  }
}

/** How a choice reads on screen: its label in the options table. */
const choiceLabel = (option, value) => option.choiceLabels?.[value] ?? String(value);

// TF's noise slider stops at 50 although links may carry up to the option's maximum (80); a link with more raises
// the slider's maximum to its value, as TF does.
const SLIDER_UI_MAXIMUM = { noise: 50 };
const PERCENT_SLIDERS = new Set(["percTrainData"]);

let uid = 0;

/** The caption a holder asks for (`data-label`, a shorter one for a crowded bar), else the table's label; the
 * table's full label stays available as the control's accessible description. */
function captionOf(holder, option) {
  return holder.dataset.label || option.label;
}

function describe(holder, option, control) {
  if (holder.dataset.label && holder.dataset.label !== option.label) control.setAttribute("aria-description", option.label);
}

/** A <select> for a choice option, or a float option that offers choices (learning rate, regularization rate). */
function buildSelect(holder, option, onChange) {
  const id = `control-${option.name}-${uid++}`;
  const label = element("label", "label", captionOf(holder, option));
  label.htmlFor = id;
  const select = element("select");
  select.id = id;
  describe(holder, option, select);
  const numeric = option.kind !== "choice";
  const addChoice = (value) => {
    const item = element("option", null, numeric ? String(value) : choiceLabel(option, value));
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

/**
 * A number field for a numeric option with a wide range and no offered choices (e.g. "stop after N epochs").
 * With `data-zero="never"` on the holder, 0 shows as an empty field with that placeholder, and clearing the field
 * sends 0. A value the browser cannot read as a number is sent as typed, so the server's error names it.
 */
function buildNumber(holder, option, onChange) {
  const id = `control-${option.name}-${uid++}`;
  const label = element("label", "label", captionOf(holder, option));
  label.htmlFor = id;
  const input = element("input");
  input.type = "number";
  input.id = id;
  input.min = String(option.minimum);
  input.max = String(option.maximum);
  input.step = option.kind === "int" ? "1" : "any";
  input.inputMode = option.kind === "int" ? "numeric" : "decimal";
  describe(holder, option, input);
  const zero = holder.dataset.zero;
  if (zero) input.placeholder = zero;
  const shown = (value) => (zero && Number(value) === 0 ? "" : String(value));
  let current = "";
  input.addEventListener("change", () => {
    if (input.value === "" && !zero) return;
    const value = input.value === "" ? 0 : Number(input.value);
    onChange({ [option.name]: Number.isFinite(value) ? value : input.value });
  });
  // A rejected value stays while the user corrects it; leaving the field shows the session's value again.
  input.addEventListener("blur", () => { if (input.value !== current) input.value = current; });
  holder.append(label, input);
  return (value) => {
    current = shown(value);
    if (document.activeElement !== input && input.value !== current) input.value = current;
  };
}

/** A text field (the seed): sent on Enter or when the field is left; the server checks it and says what is
 * allowed if it refuses. */
function buildText(holder, option, onChange) {
  const id = `control-${option.name}-${uid++}`;
  const label = element("label", "label", captionOf(holder, option));
  label.htmlFor = id;
  const input = element("input");
  input.type = "text";
  input.id = id;
  input.spellcheck = false;
  input.autocomplete = "off";
  input.setAttribute("autocapitalize", "off");
  input.maxLength = 64;                  // longer than allowed, so that the server's error can say so
  describe(holder, option, input);
  if (option.allowed) input.setAttribute("aria-description", `Allowed: ${option.allowed}`);
  let current = "";
  input.addEventListener("change", () => {
    const value = input.value.trim();
    if (value && value !== current) onChange({ [option.name]: value });
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { input.value = current; input.blur(); }
  });
  input.addEventListener("blur", () => { if (input.value !== current) input.value = current; });
  holder.append(label, input);
  return (value) => {
    current = String(value);
    if (document.activeElement !== input && input.value !== current) input.value = current;
  };
}

/**
 * A slider over an option's offered values (the speed: 1, 2, 5, 10, 30, 100 epochs/s, then "max"). A value 0 means
 * "no limit" and takes the last, fastest position. A link's value between the stops puts the knob at the nearest
 * stop and the caption shows the exact value.
 */
function buildStepSlider(holder, option, onChange) {
  const id = `control-${option.name}-${uid++}`;
  const stops = option.choices.filter((value) => value !== 0).sort((a, b) => a - b);
  if (option.choices.includes(0)) stops.push(0);
  const label = element("label", "label");
  label.htmlFor = id;
  const caption = element("span", "value");
  label.append(`${captionOf(holder, option)}: `, caption);
  const input = element("input");
  input.type = "range";
  input.id = id;
  input.min = "0";
  input.max = String(stops.length - 1);
  input.step = "1";
  describe(holder, option, input);
  const unit = holder.dataset.unit || "", unitOne = holder.dataset.unitOne ?? unit;
  const words = (value) => value === 0 ? "max" : `${value}${value === 1 ? unitOne : unit}`;
  const show = (value) => {
    caption.textContent = words(value);
    input.setAttribute("aria-valuetext", words(value));
  };
  input.addEventListener("input", () => {
    const value = stops[Number(input.value)];
    show(value);
    onChange({ [option.name]: value });
  });
  const rank = (value) => value === 0 ? Infinity : value;
  holder.append(label, input);
  return (value) => {
    let index = stops.indexOf(value);
    if (index < 0) {
      index = stops.reduce((best, stop, i) =>
        Math.abs(Math.log(rank(stop)) - Math.log(rank(value))) < Math.abs(Math.log(rank(stops[best])) -
          Math.log(rank(value))) ? i : best, 0);
    }
    if (input.value !== String(index)) input.value = String(index);
    show(value);
  };
}

function buildControl(holder, option, onChange, { slider = true } = {}) {
  if (holder.dataset.control === "steps" && option.choices?.length) return buildStepSlider(holder, option, onChange);
  if (option.kind === "bool") return buildCheckbox(holder, option, onChange);
  if (option.kind === "seed") return buildText(holder, option, onChange);
  if (option.choices && option.choices.length) return buildSelect(holder, option, onChange);
  if (option.kind === "int" || option.kind === "float") {
    return slider && option.step ? buildSlider(holder, option, onChange) : buildNumber(holder, option, onChange);
  }
  return null;
}

/**
 * Fill every `[data-option]` holder under `root` with the control its option's kind calls for; options that have
 * no place on the page and are not in `placedElsewhere` (features, datasets, shape) get a control in
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
      button.title = choiceLabel(option, choice);
      button.setAttribute("aria-label", `Dataset: ${choiceLabel(option, choice)}`);
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
