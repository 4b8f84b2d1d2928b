// How much a process has read from disk, to show that a download stops reading when its client
// goes away.

import { readFileSync } from "node:fs";

/** Bytes the process has read through read(2) and friends, from /proc/<pid>/io. */
export function bytesRead(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1]);
}

/** `bytesRead` once it has stopped growing: the process has finished what it was reading. */
export async function readsSettled(pid: number): Promise<number> {
  let previous = -1;
  let current = bytesRead(pid);
  while (current !== previous) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    previous = current;
    current = bytesRead(pid);
  }
  return current;
}
