import { describe, expect, it } from "vitest";
import { retentionFromOptions } from "../src/core/pin-json.ts";
import {
  expiredRevisions,
  parseRetention,
  parseRevisionLinkName,
  revisionLinkName,
  type Revision,
} from "../src/core/retention.ts";

const DAY = 24 * 60 * 60 * 1000;
const start = Date.parse("2026-01-01T00:00:00Z");
const revisions: Revision[] = [1, 2, 3, 4].map((number) => ({
  number,
  storePath: `/nix/store/${"a".repeat(32)}-r${number}`,
  createdAt: start + (number - 1) * DAY,
}));
const numbers = (list: Revision[]): number[] => list.map((r) => r.number).sort();

describe("retention", () => {
  it("keep forever expires nothing", () => {
    expect(expiredRevisions(revisions, { kind: "forever" }, start + 1000 * DAY)).toEqual([]);
  });

  it("keep N revisions expires all but the newest N", () => {
    expect(numbers(expiredRevisions(revisions, { kind: "revisions", count: 2 }, start))).toEqual([
      1, 2,
    ]);
    expect(expiredRevisions(revisions, { kind: "revisions", count: 9 }, start)).toEqual([]);
  });

  it("keep D days expires revisions older than D days, the newest too", () => {
    const days = { kind: "days", days: 2 } as const;
    // Day 4.5: revision 1 (day 0) and 2 (day 1) are older than 2 days; 3 (day 2) is 2.5 days.
    expect(numbers(expiredRevisions(revisions, days, start + 4.5 * DAY))).toEqual([1, 2, 3]);
    expect(numbers(expiredRevisions(revisions, days, start + 2 * DAY))).toEqual([]);
    expect(numbers(expiredRevisions(revisions, days, start + 100 * DAY))).toEqual([1, 2, 3, 4]);
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
