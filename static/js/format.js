// Number formats shown on the page, as TF Playground writes them.

/** Epochs as TF's "000,000": six digits zero-padded, comma-grouped; larger counts keep every digit (TF truncated
 * them with slice(-6)). */
export function formatEpoch(epoch) {
  const digits = String(Math.max(0, Math.floor(epoch || 0))).padStart(6, "0");
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A loss with 3 decimals (TF's toFixed(3)); null (not finite) reads as NaN, as it did in TF. */
export function formatLoss(loss) {
  return loss === null || loss === undefined || !Number.isFinite(loss) ? "NaN" : loss.toFixed(3);
}

/** A weight or bias as TF's hover card shows it (toPrecision(2)). */
export function formatParameter(value) {
  return value === null || value === undefined || !Number.isFinite(value) ? "NaN" : value.toPrecision(2);
}
