// The time as storefront sees it, for pin revisions and their retention. Tests move it forward
// with STOREFRONT_NOW (test-only: an ISO date or Unix seconds, fixed for the process's life)
// instead of sleeping for days; nothing else should ever set it.

import { ConfigError } from "./errors.ts";

/** Milliseconds since the Unix epoch. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): Clock {
  const text = env["STOREFRONT_NOW"];
  if (text === undefined || text === "") return systemClock;
  const fixed = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (!Number.isFinite(fixed)) {
    throw new ConfigError(
      `STOREFRONT_NOW="${text}" is neither an ISO date nor Unix seconds (it is for tests only)`,
    );
  }
  return () => fixed;
}
