// Numbers and times as the status page writes them: binary units for bytes (as `[gc]` and
// `du -h` count them), UTC for times (the server's and the reader's zones may differ).

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** The largest binary unit not above `bytes` (bytes themselves below 1 KiB). */
export function byteUnit(bytes: number): { readonly name: string; readonly size: number } {
  let index = 0;
  while (index < UNITS.length - 1 && Math.abs(bytes) >= 1024 ** (index + 1)) index++;
  return { name: UNITS[index] ?? "B", size: 1024 ** index };
}

/** `1.5 GiB`, `312 MiB`, `0 B`: three significant digits at most. */
export function formatBytes(bytes: number): string {
  const unit = byteUnit(bytes);
  const value = bytes / unit.size;
  const digits = unit.size === 1 || Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${trimZeros(value.toFixed(digits))} ${unit.name}`;
}

/** `12 345`: digits grouped for reading, with a thin space. */
export function formatCount(count: number): string {
  return String(Math.round(count)).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
}

/** `2026-12-03 07:03 UTC`. */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function trimZeros(text: string): string {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}
