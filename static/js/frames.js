// Decoding a compact map_update (docs/protocol.md, "map_update on the wire") into the frame the page draws:
// heatmap and thumbnails as one byte code per value, weights[layer][to][from], biases[layer][to], dead or null.
// One binary attachment, `packed`: the float32 parameters, the dead-link bits when `dead` is true, then the maps as
// one zlib stream that the browser inflates natively (DecompressionStream); every frame decodes on its own.
import { asBytes } from "./colors.js";

const GRID_WIDTH = 100;            // bytes per row of the heat map
const THUMBNAIL_WIDTH = 10;        // bytes per row of a thumbnail
const HEATMAP_BYTES = GRID_WIDTH * GRID_WIDTH;
const DISPLAY_DIGITS = 6;          // significant digits of weights and biases, as the page shows them

// Symbol -> the middle code of its range: whole shades 0-14 and 16-30 as 8s + 4, the grey shade 15 split at v = 0
// into 122 and 126, NaN (symbol 32) as 255. The page's colour tables read these as the server's own codes.
const SYMBOL_CODES = Uint8Array.from([
  ...Array.from({ length: 15 }, (_, shade) => shade * 8 + 4), 122, 126,
  ...Array.from({ length: 15 }, (_, k) => (k + 16) * 8 + 4), 255,
]);

let previous = Promise.resolve();

/**
 * A map_update payload -> a promise of the frame the page draws (the payload's JSON fields plus `heatmap`,
 * `thumbnails`, `weights`, `biases`, `dead`). Promises resolve in the order the payloads came, so a frame that
 * decodes faster never overtakes an older one; a payload that cannot be decoded rejects its own promise only.
 */
export function decodeFrame(payload) {
  const decoding = decode(payload);
  const inOrder = previous.then(() => decoding);
  previous = inOrder.catch(() => {});
  return inOrder;
}

async function decode(payload) {
  const packed = asBytes(payload.packed);
  const count = parameterCount(payload.layerSizes);
  const deadBytes = payload.dead ? Math.ceil(count / 8) : 0;
  if (packed.length < count * 4 + deadBytes) throw new Error(`packed holds ${packed.length} bytes, too few`);
  const symbols = await inflate(packed.subarray(count * 4 + deadBytes));
  const nodes = payload.layerSizes.reduce((sum, size) => sum + size, 0);
  const expected = HEATMAP_BYTES + nodes * THUMBNAIL_WIDTH * THUMBNAIL_WIDTH;
  if (symbols.length !== expected) throw new Error(`maps holds ${symbols.length} bytes, expected ${expected}`);
  const heatmap = codesOf(symbols.subarray(0, HEATMAP_BYTES), GRID_WIDTH);
  const thumbnails = codesOf(symbols.subarray(HEATMAP_BYTES), THUMBNAIL_WIDTH);
  const deadBits = payload.dead ? packed.subarray(count * 4, count * 4 + deadBytes) : null;
  return { ...payload, heatmap, thumbnails, ...parameters(packed.subarray(0, count * 4), deadBits, payload.layerSizes) };
}

async function inflate(binary) {
  const stream = new Blob([binary]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Undo the Up filter in place (each byte plus the one a row above, mod 256), then symbols -> codes. */
function codesOf(filtered, width) {
  for (let i = width; i < filtered.length; i++) filtered[i] += filtered[i - width];   // Uint8Array wraps
  const codes = new Uint8Array(filtered.length);
  for (let i = 0; i < filtered.length; i++) codes[i] = SYMBOL_CODES[filtered[i]] ?? 255;
  return codes;
}

function parameterCount(layerSizes) {
  return layerSizes.slice(1).reduce((sum, size, layer) => sum + size * (layerSizes[layer] + 1), 0);
}

/** float32 weights and biases, layer by layer, each node's weights then its bias; dead links from the bitmask. */
function parameters(bytes, bits, layerSizes) {
  const values = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const weights = [], biases = [], dead = [];
  let index = 0;
  for (let layer = 0; layer + 1 < layerSizes.length; layer++) {
    const layerWeights = [], layerBiases = [], layerDead = [];
    for (let node = 0; node < layerSizes[layer + 1]; node++) {
      const row = [], deadRow = [];
      for (let source = 0; source < layerSizes[layer]; source++, index++) {
        row.push(shown(values.getFloat32(index * 4, true)));
        deadRow.push(bits !== null && (bits[index >> 3] >> (index & 7) & 1) === 1);
      }
      layerBiases.push(shown(values.getFloat32(index * 4, true)));
      index++;
      layerWeights.push(row);
      layerDead.push(deadRow);
    }
    weights.push(layerWeights);
    biases.push(layerBiases);
    dead.push(layerDead);
  }
  return { weights, biases, dead: bits ? dead : null };
}

function shown(value) {
  return Number.isFinite(value) ? Number(value.toPrecision(DISPLAY_DIGITS)) : null;
}

/** A seed_update's `maps` (docs/protocol.md): `count` square maps of codes, Up-filtered in rows of their width. */
export async function decodeSmallMaps(binary, count) {
  const symbols = await inflate(binary);
  const width = Math.round(Math.sqrt(symbols.length / count));
  if (!count || width * width * count !== symbols.length) {
    throw new Error(`maps holds ${symbols.length} bytes, not ${count} square maps`);
  }
  const codes = codesOf(symbols, width);
  const size = width * width;
  return { width, maps: Array.from({ length: count }, (_, i) => codes.subarray(i * size, (i + 1) * size)) };
}
