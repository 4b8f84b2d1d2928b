// Compressed streams start a few at a time. A response compressed as it goes out first fills
// the socket's send buffer (up to 4 MiB, as the kernel grows it) at full speed, whatever its
// client reads: 32 such streams starting at once (slow readers arriving together) compressed
// ~128 MiB on every core and kept the main thread busy for a second, and a narinfo asked for
// meanwhile waited up to 450 ms. A stream's start-up ends when its socket is full (from then
// on its client sets its pace) or after a tenth of a second (a fast client's download, which
// runs on beside the next ones): then the next waiting stream starts.

/** Compressed streams in their start-up at once: one per core leaves a core for the rest. */
const STARTING_AT_ONCE = 1;

/** The longest start-up: a stream that keeps its socket moving lets the next one start. */
const START_UP_MS = 100;

let starting = 0;
const waiting: (() => void)[] = [];

/**
 * Waits for a compressed stream's turn to start; returns what ends its start-up, to call
 * (once or more) when its socket is full and when it ends, whichever comes first.
 */
export async function compressedStart(): Promise<() => void> {
  if (starting < STARTING_AT_ONCE) starting += 1;
  // The slot is handed on by the stream before, so the count stays as it is.
  else await new Promise<void>((resolve) => waiting.push(resolve));
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    const next = waiting.shift();
    if (next === undefined) starting -= 1;
    else next();
  };
  const timer = setTimeout(end, START_UP_MS);
  return end;
}
