import { describe, expect, it } from "vitest";
import { retentionFromOptions } from "../../src/core/pins/pin-json.ts";
import {
  describeExpiry,
  expiredRevisions,
  parseRetention,
  revisionExpiries,
  parseRevisionLinkName,
  revisionLinkName,
  type RetainedPin,
  type Retention,
  type Revision,
} from "../../src/core/pins/retention.ts";

const DAY = 24 * 60 * 60 * 1000;
const start = Date.parse("2026-01-01T00:00:00Z");
const revisions: Revision[] = [1, 2, 3, 4].map((number) => ({
  number,
  storePath: `/nix/store/${"a".repeat(32)}-r${number}`,
  createdAt: start + (number - 1) * DAY,
}));
const numbers = (list: Revision[]): number[] => list.map((r) => r.number).sort();

describe("retention", () => {
  const pin = (name: string, retention: Retention): RetainedPin => ({
    name,
    retention,
    revisions,
  });

  it("keep forever expires nothing", () => {
    expect(expiredRevisions(pin("web", { kind: "forever" }), start + 1000 * DAY)).toEqual([]);
  });

  it("keep N revisions expires all but the newest N", () => {
    const two = pin("web", { kind: "revisions", count: 2 });
    expect(numbers(expiredRevisions(two, start))).toEqual([1, 2]);
    expect(expiredRevisions(pin("web", { kind: "revisions", count: 9 }), start)).toEqual([]);
  });

  it("keep D days expires revisions older than D days, but a named pin keeps its newest", () => {
    const web = pin("web", { kind: "days", days: 2 });
    // Day 4.5: revision 1 (day 0) and 2 (day 1) are older than 2 days; 3 (day 2) is 2.5 days.
    expect(numbers(expiredRevisions(web, start + 4.5 * DAY))).toEqual([1, 2, 3]);
    expect(numbers(expiredRevisions(web, start + 2 * DAY))).toEqual([]);
    expect(numbers(expiredRevisions(web, start + 100 * DAY))).toEqual([1, 2, 3]);
  });

  it("an auto: pin of a pushed closure expires whole", () => {
    const pushed = pin("auto:0123456789abcdfghijklmnpqrsvwxyz-app", { kind: "days", days: 2 });
    expect(numbers(expiredRevisions(pushed, start + 4.5 * DAY))).toEqual([1, 2, 3]);
    expect(numbers(expiredRevisions(pushed, start + 100 * DAY))).toEqual([1, 2, 3, 4]);
  });

  it("says until when each revision is kept", () => {
    const describe = (p: RetainedPin, now: number): string[] =>
      revisionExpiries(p, now).map(describeExpiry);
    expect(describe(pin("web", { kind: "days", days: 2 }), start + 2.5 * DAY)).toEqual([
      "expired: the next prune removes it",
      "expires 2026-01-04T00:00:00Z",
      "expires 2026-01-05T00:00:00Z",
      "newest: kept while the pin exists",
    ]);
    expect(describe(pin("auto:x", { kind: "days", days: 2 }), start).at(-1)).toBe(
      "expires 2026-01-06T00:00:00Z",
    );
    expect(describe(pin("web", { kind: "revisions", count: 3 }), start)).toEqual([
      "expired: the next prune removes it",
      "kept while among the newest 3",
      "kept while among the newest 3",
      "kept while among the newest 3",
    ]);
    expect(describe(pin("web", { kind: "forever" }), start)).toEqual(Array(4).fill("kept forever"));
  });

  it("names revision links by number and UTC second, and reads them back", () => {
    const name = revisionLinkName(12, start + 1234);
    expect(name).toBe("12-20260101T000001Z");
    expect(parseRevisionLinkName(name)).toEqual({ number: 12, createdAt: start + 1000 });
    for (const other of ["pin.json", "0-20260101T000000Z", "1-2026", ".1-20260101T000000Z"]) {
      expect(parseRevisionLinkName(other)).toBeUndefined();
    }
  });

  it("parses stored retention and refuses anything else", () => {
    expect(parseRetention({ kind: "days", days: 3 })).toEqual({ kind: "days", days: 3 });
    expect(parseRetention({ kind: "revisions", count: 0 })).toBeUndefined();
    expect(parseRetention({ kind: "days", days: 1.5 })).toBeUndefined();
    expect(parseRetention("forever")).toBeUndefined();
  });

  it("takes at most one retention option", () => {
    expect(retentionFromOptions({})).toEqual({ ok: true, retention: undefined });
    expect(retentionFromOptions({ keepDays: 7 })).toEqual({
      ok: true,
      retention: { kind: "days", days: 7 },
    });
    expect(retentionFromOptions({ keepRevisions: 2, keepForever: true }).ok).toBe(false);
    expect(retentionFromOptions({ keepRevisions: 0 }).ok).toBe(false);
    expect(retentionFromOptions({ keepDays: -1 }).ok).toBe(false);
  });
});
