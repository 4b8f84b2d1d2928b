// Pairs of node indices grouped by their first: "compressed sparse rows", the form in which
// storefront holds a reference graph in memory (a few bytes a reference, no object per node).

export interface CompressedRows {
  /** Row r's values are values[offsets[r]] up to values[offsets[r + 1]]. */
  readonly offsets: Int32Array;
  readonly values: Int32Array;
}

/**
 * The first `pairs` of (rows[i], values[i]), grouped by row, for rows 0 to `rowCount` - 1:
 * each row's values counted, the counts summed, then filled in.
 */
export function compressRows(
  rowCount: number,
  rows: Int32Array,
  values: Int32Array,
  pairs: number,
): CompressedRows {
  const offsets = new Int32Array(rowCount + 1);
  for (let i = 0; i < pairs; i++) {
    const row = rows[i] ?? 0;
    offsets[row + 1] = (offsets[row + 1] ?? 0) + 1;
  }
  for (let row = 0; row < rowCount; row++) {
    offsets[row + 1] = (offsets[row + 1] ?? 0) + (offsets[row] ?? 0);
  }
  const next = offsets.slice(0, rowCount);
  const grouped = new Int32Array(pairs);
  for (let i = 0; i < pairs; i++) {
    const row = rows[i] ?? 0;
    const at = next[row] ?? 0;
    grouped[at] = values[i] ?? 0;
    next[row] = at + 1;
  }
  return { offsets, values: grouped };
}
