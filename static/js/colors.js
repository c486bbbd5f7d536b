// TensorFlow Playground's colours, and the decoding of the server's one-byte map values into them.
//
// Byte encoding (docs/protocol.md): q = clamp(floor((v + 1)·124), 0, 247), 255 for NaN. So q >> 3 is TF's shade
// index 0..30 and q >= 124 exactly when v >= 0. Every map is painted through a 256-entry RGBA table, so a frame
// costs one table look-up per pixel and no arithmetic.

const ORANGE = [0xf5, 0x93, 0x22];   // -1
const GREY = [0xe8, 0xea, 0xeb];     //  0
const BLUE = [0x08, 0x77, 0xbd];     // +1

export const NUM_SHADES = 31;
export const NAN_CODE = 255;
export const MAP_ALPHA = 160;          // TF paints its heat maps with alpha 160/255
const POSITIVE_CODE = 124;             // the first code of v >= 0
// NaN is drawn as hatched neutral greys that are not on the orange-grey-blue scale.
const NAN_LIGHT = [0xb4, 0xb4, 0xb4];
const NAN_DARK = [0x80, 0x80, 0x80];

/** The colour at t in [0, 1] of the 3-stop scale, interpolated in RGB and rounded as d3's interpolateRgb does. */
function rgbAt(t) {
  const u = Math.min(1, Math.max(0, t));
  const [from, to, f] = u < 0.5 ? [ORANGE, GREY, u * 2] : [GREY, BLUE, u * 2 - 1];
  return from.map((c, i) => Math.round(c + (to[i] - c) * f));
}

/** TF's 31 discrete shades: shade k is the continuous scale at k/30. */
export const SHADES = Array.from({ length: NUM_SHADES }, (_, k) => rgbAt(k / (NUM_SHADES - 1)));

const css = ([r, g, b]) => `rgb(${r},${g},${b})`;
export const SHADE_CSS = SHADES.map(css);
export const NAN_CSS = css(NAN_DARK);

/** Shade index of a value, as TF's quantize scale over [-1, 1]; -1 for NaN. */
export function shadeIndex(value) {
  if (!Number.isFinite(value)) return -1;
  return Math.min(NUM_SHADES - 1, Math.max(0, Math.floor(NUM_SHADES * (value + 1) / 2)));
}

/** CSS colour of a data point's label (discrete shades, like TF's points). */
export function pointColor(value) {
  const shade = shadeIndex(value);
  return shade < 0 ? NAN_CSS : SHADE_CSS[shade];
}

// Links, bias squares and the legend use the continuous scale over [-1, 1], clamped. Their values arrive with 6
// significant digits; 1/200 steps are finer than the eye can tell, and a cache of 401 strings lets an unchanged
// colour be skipped by a string comparison.
const CONTINUOUS_STEPS = 200;
const CONTINUOUS_CSS = Array.from({ length: CONTINUOUS_STEPS * 2 + 1 },
  (_, i) => css(rgbAt(i / (CONTINUOUS_STEPS * 2))));

export function continuousColor(value) {
  if (value === null || !Number.isFinite(value)) return NAN_CSS;
  const clamped = Math.min(1, Math.max(-1, value));
  return CONTINUOUS_CSS[Math.round((clamped + 1) * CONTINUOUS_STEPS)];
}

export const LEGEND_GRADIENT = [ORANGE, GREY, BLUE].map(css);

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function packRgba([r, g, b], alpha) {
  return LITTLE_ENDIAN ? ((alpha << 24) | (b << 16) | (g << 8) | r) >>> 0
    : ((r << 24) | (g << 16) | (b << 8) | alpha) >>> 0;
}

/**
 * A 256-entry table byte -> packed RGBA pixel (for a Uint32Array view of ImageData).
 * `discretize`: TF's "Discretize output", v >= 0 ? +1 : -1.
 */
export function byteLookup({ discretize = false, alpha = MAP_ALPHA } = {}) {
  const table = new Uint32Array(256);
  for (let q = 0; q < 256; q++) {
    let shade = Math.min(q >> 3, NUM_SHADES - 1);
    if (discretize) shade = q >= POSITIVE_CODE ? NUM_SHADES - 1 : 0;
    table[q] = packRgba(SHADES[shade], alpha);
  }
  table[NAN_CODE] = packRgba(NAN_LIGHT, 255);
  return table;
}

/** The pixel drawn for NaN at (row, col): diagonal stripes, so NaN never reads as a value of the scale. */
export const NAN_STRIPE = packRgba(NAN_DARK, 255);
export const NAN_FILL = packRgba(NAN_LIGHT, 255);

/** Bytes of a base64 string (the page data's feature thumbnails). */
export function base64Bytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/** A Socket.IO binary attachment (ArrayBuffer, or a view of one) as bytes. */
export function asBytes(binary) {
  if (binary instanceof Uint8Array) return binary;
  if (ArrayBuffer.isView(binary)) return new Uint8Array(binary.buffer, binary.byteOffset, binary.byteLength);
  return new Uint8Array(binary);
}
