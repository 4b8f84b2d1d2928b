// Pin revisions and the retention rules that decide which of them to keep, as `cachix pin`
// has them: the newest N revisions, the revisions younger than D days, or all of them.

export type Retention =
  | { readonly kind: "forever" }
  | { readonly kind: "revisions"; readonly count: number }
  | { readonly kind: "days"; readonly days: number };

export interface Revision {
  /** 1, 2, 3, ... in the order the revisions were made. */
  readonly number: number;
  readonly storePath: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The revisions that `retention` no longer keeps at time `now`. With `revisions` the newest are
 * kept; with `days` every revision older than that goes, the newest too, so that a pin made
 * for a pushed closure lets Nix collect it once it expires.
 */
export function expiredRevisions(
  revisions: readonly Revision[],
  retention: Retention,
  now: number,
): Revision[] {
  switch (retention.kind) {
    case "forever":
      return [];
    case "revisions":
      return [...revisions].sort((a, b) => b.number - a.number).slice(retention.count);
    case "days":
      return revisions.filter((revision) => now - revision.createdAt > retention.days * DAY_MS);
    default: {
      const unhandled: never = retention;
      return unhandled;
    }
  }
}

export function describeRetention(retention: Retention): string {
  switch (retention.kind) {
    case "forever":
      return "keep forever";
    case "revisions":
      return `keep ${retention.count} revision${retention.count === 1 ? "" : "s"}`;
    case "days":
      return `keep ${retention.days} day${retention.days === 1 ? "" : "s"}`;
    default: {
      const unhandled: never = retention;
      return unhandled;
    }
  }
}

/** Parses retention as stored in a pin's metadata or sent to the API; undefined if malformed. */
export function parseRetention(value: unknown): Retention | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const positive = (n: unknown): n is number =>
    typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 1_000_000;
  if (record["kind"] === "forever") return { kind: "forever" };
  if (record["kind"] === "revisions" && positive(record["count"])) {
    return { kind: "revisions", count: record["count"] };
  }
  if (record["kind"] === "days" && positive(record["days"])) {
    return { kind: "days", days: record["days"] };
  }
  return undefined;
}

// A revision's root is a symlink named `<number>-<UTC time>`, e.g. `3-20261126T080000Z`, so
// that the link alone says which revision it is and when it was made: deleting it by hand
// removes exactly that revision.
const LINK_NAME = /^([1-9]\d{0,8})-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export function revisionLinkName(number: number, createdAt: number): string {
  const iso = new Date(Math.floor(createdAt / 1000) * 1000).toISOString();
  return `${number}-${iso.replace(/[-:]|\.000/g, "")}`;
}

/** The number and time in a revision link's name, or undefined for any other name. */
export function parseRevisionLinkName(
  name: string,
): { number: number; createdAt: number } | undefined {
  const match = LINK_NAME.exec(name);
  if (match === null) return undefined;
  const [, number, year, month, day, hour, minute, second] = match;
  const createdAt = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
  if (!Number.isFinite(createdAt)) return undefined;
  return { number: Number(number), createdAt };
}
