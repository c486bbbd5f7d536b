// The URL hash <-> config, read exactly as TensorFlow Playground reads its links, and driven by the server's options
// table (page data): the page keeps no second copy of names, kinds or defaults. Pure functions, no DOM.

// Keys TF Playground writes that change nothing; kept so that a pasted TF link survives a round trip.
const INERT_KEYS = ["cosX", "cosY", "collectStats", "tutorial"];
const HIDE_SUFFIX = "_hide";

/** The options table, indexed. */
export class OptionsTable {
  /** `urlOrder`: TF Playground's own URL keys, in the order it writes them (state.ts PROPS). */
  constructor(options, urlOrder) {
    this.list = options;
    this.urlOrder = urlOrder;
    this.byName = new Map(options.map((option) => [option.name, option]));
  }

  get(name) {
    return this.byName.get(name);
  }

  /** The names of the options of one kind (e.g. the seven features are the "bool" options with effect reset). */
  named(predicate) {
    return this.list.filter(predicate).map((option) => option.name);
  }
}

/** JavaScript's unary + on a URL value, as TF uses; a value that is not a number is kept as text so that the
 * server's error can quote it. */
function urlNumber(text) {
  const number = +text;
  return Number.isNaN(number) ? text : number;
}

function parseValue(option, text) {
  switch (option.kind) {
    case "bool":
      return text !== "false";                     // TF: anything but "false" is true
    case "shape": {
      if (text.trim() === "") return [];           // `networkShape=` is zero hidden layers
      const sizes = text.split(",").map(urlNumber);
      return sizes.every((n) => typeof n === "number") ? sizes : text;
    }
    case "int":
    case "float":
      return urlNumber(text);
    default:
      return text;                                  // choice, seed: the server checks them
  }
}

function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Parse `#activation=tanh&batchSize=10&...`.
 * Returns { changes: {option: value}, extras: {inert or _hide key: text}, hidden: Set of control names }.
 * Unknown keys are ignored; empty values are skipped except for networkShape (TF's hasKey()).
 */
export function parseHash(hash, table) {
  const changes = {}, extras = {}, hidden = new Set();
  for (const pair of hash.replace(/^#/, "").split("&")) {
    if (!pair) continue;
    const at = pair.indexOf("=");
    const name = decode(at < 0 ? pair : pair.slice(0, at));
    const text = at < 0 ? "" : decode(pair.slice(at + 1));
    const option = table.get(name);
    if (option) {
      if (text.trim() !== "" || option.kind === "shape") changes[name] = parseValue(option, text);
    } else if (name.endsWith(HIDE_SUFFIX)) {
      extras[name] = text;
      if (text === "true") hidden.add(name.slice(0, -HIDE_SUFFIX.length));
    } else if (INERT_KEYS.includes(name)) {
      extras[name] = text;
    }
  }
  return { changes, extras, hidden };
}

function formatValue(option, value) {
  if (option.kind === "bool") return value ? "true" : "false";
  if (option.kind === "shape") return value.join(",");
  return String(value);
}

/**
 * Write a config as a TF Playground hash: TF's keys in TF's order (the inert ones from `extras`), then our own
 * options only where they differ from their defaults, so a TF experiment's link reads as the original's; then the
 * `_hide` keys.
 */
export function toHash(config, table, extras = {}) {
  const parts = [];
  const write = (option, value) => {
    if (value === null || value === undefined) return;
    parts.push(`${option.name}=${encodeURIComponent(formatValue(option, value)).replace(/%2C/g, ",")}`);
  };
  for (const name of table.urlOrder) {
    const option = table.get(name);
    if (option) write(option, config[name]);
    else if (name in extras) parts.push(`${name}=${encodeURIComponent(extras[name])}`);
  }
  for (const option of table.list) {
    if (table.urlOrder.includes(option.name)) continue;
    const value = config[option.name];
    if (JSON.stringify(value) !== JSON.stringify(option.default)) write(option, value);
  }
  for (const [name, text] of Object.entries(extras)) {
    if (name.endsWith(HIDE_SUFFIX)) parts.push(`${name}=${encodeURIComponent(text)}`);
  }
  return "#" + parts.join("&");
}
