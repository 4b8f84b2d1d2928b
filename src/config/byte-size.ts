// Sizes in the config: a number of bytes, or a string with a binary unit ("512M", "10G").

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
};

/**
 * Bytes for `value`: a non-negative integer, or a string like "10G", "1.5G", "512MiB", "100k"
 * (units are powers of 1024). Undefined when it is neither.
 */
export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === "bigint") return value >= 0n ? Number(value) : undefined;
  if (typeof value === "number")
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value);
  if (match === null) return undefined;
  const unit = UNITS[(match[2] ?? "").toUpperCase()] ?? 1;
  return Math.floor(Number(match[1]) * unit);
}
