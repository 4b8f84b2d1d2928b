// Pins as JSON, the same for `storefront pins --json` and the admin API, and the retention
// options as the API and the CLI take them.

import type { Retention, Revision } from "./retention.ts";

export interface PinLike {
  readonly name: string;
  readonly retention: Retention;
  readonly revisions: readonly Revision[];
}

export interface PinJson {
  name: string;
  retention: Retention;
  revisions: { revision: number; storePath: string; createdAt: string }[];
}

export function pinJson(pin: PinLike): PinJson {
  return {
    name: pin.name,
    retention: pin.retention,
    revisions: pin.revisions.map((r) => ({
      revision: r.number,
      storePath: r.storePath,
      createdAt: new Date(r.createdAt).toISOString(),
    })),
  };
}

export interface RetentionOptions {
  readonly keepRevisions?: number | undefined;
  readonly keepDays?: number | undefined;
  readonly keepForever?: boolean | undefined;
}

const MAX_RETENTION = 1_000_000;

/**
 * The retention that the options ask for (at most one of them), undefined when none is given,
 * or a sentence saying what is wrong.
 */
export function retentionFromOptions(
  options: RetentionOptions,
): { ok: true; retention: Retention | undefined } | { ok: false; reason: string } {
  const { keepRevisions, keepDays, keepForever } = options;
  const given = [keepRevisions, keepDays, keepForever === true ? true : undefined].filter(
    (value) => value !== undefined,
  );
  if (given.length > 1) {
    return { ok: false, reason: "give at most one of keep-revisions, keep-days, keep-forever" };
  }
  const valid = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= MAX_RETENTION;
  if (keepRevisions !== undefined) {
    if (!valid(keepRevisions))
      return { ok: false, reason: "keep-revisions must be an integer >= 1" };
    return { ok: true, retention: { kind: "revisions", count: keepRevisions } };
  }
  if (keepDays !== undefined) {
    if (!valid(keepDays)) return { ok: false, reason: "keep-days must be an integer >= 1" };
    return { ok: true, retention: { kind: "days", days: keepDays } };
  }
  if (keepForever === true) return { ok: true, retention: { kind: "forever" } };
  return { ok: true, retention: undefined };
}
