// Pin revisions and the retention rules that decide which of them to keep, as `cachix pin`
// has them: the newest N revisions, the revisions younger than D days, or all of them.

import { AUTO_PIN_PREFIX } from "./pin-name.ts";

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

/** A pin as retention sees it. */
export interface RetainedPin {
  readonly name: string;
  readonly retention: Retention;
  readonly revisions: readonly Revision[];
}

/** Until when a revision is kept, as `storefront pins` shows it. */
export type Expiry =
  | { readonly kind: "never" }
  /** Kept until `time` (milliseconds since the epoch), then removed by the next prune. */
  | { readonly kind: "at"; readonly time: number }
  /** The newest revision of a named pin kept for days: kept while the pin exists. */
  | { readonly kind: "while-newest" }
  /** Kept while it is among the newest `count` revisions. */
  | { readonly kind: "while-among-newest"; readonly count: number }
  /** No longer kept: the next prune removes it. */
  | { readonly kind: "expired" };

/**
 * Whether the newest revision of a pin kept for days stays past its days. A pin that a person
 * named keeps it while the pin exists (only `unpin` drops it): a site pinned for 30 days and not
 * pinned again for a month must not be collected. The pins storefront makes for pushed
 * closures (`auto:`) expire whole, so that Nix collects a closure nobody asked to keep.
 */
function keepsNewestRevision(pinName: string): boolean {
  return !pinName.startsWith(AUTO_PIN_PREFIX);
}

/** Until when each of `pin.revisions` is kept at time `now`, in the same order. */
export function revisionExpiries(pin: RetainedPin, now: number): Expiry[] {
  const { retention, revisions } = pin;
  const newestFirst = [...revisions].sort((a, b) => b.number - a.number);
  const newest = newestFirst[0]?.number;
  return revisions.map((revision): Expiry => {
    switch (retention.kind) {
      case "forever":
        return { kind: "never" };
      case "revisions":
        return newestFirst.indexOf(revision) < retention.count
          ? { kind: "while-among-newest", count: retention.count }
          : { kind: "expired" };
      case "days": {
        const time = revision.createdAt + retention.days * DAY_MS;
        if (revision.number === newest && keepsNewestRevision(pin.name)) {
          return { kind: "while-newest" };
        }
        return now > time ? { kind: "expired" } : { kind: "at", time };
      }
      default: {
        const unhandled: never = retention;
        return unhandled;
      }
    }
  });
}

/**
 * The revisions that the pin's retention no longer keeps at time `now`. With `revisions` the
 * newest are kept; with `days` the revisions older than that go, except the newest of a pin a
 * person named (see keepsNewestRevision).
 */
export function expiredRevisions(pin: RetainedPin, now: number): Revision[] {
  const expiries = revisionExpiries(pin, now);
  return pin.revisions.filter((_, index) => expiries[index]?.kind === "expired");
}

/** An expiry for people: "expires 2026-01-31T00:00:00Z", "kept while the pin exists". */
export function describeExpiry(expiry: Expiry): string {
  const utc = (time: number): string => new Date(time).toISOString().replace(/\.000Z$/, "Z");
  switch (expiry.kind) {
    case "never":
      return "kept forever";
    case "at":
      return `expires ${utc(expiry.time)}`;
    case "while-newest":
      return "newest: kept while the pin exists";
    case "while-among-newest":
      return `kept while among the newest ${expiry.count}`;
    case "expired":
      return "expired: the next prune removes it";
    default: {
      const unhandled: never = expiry;
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
