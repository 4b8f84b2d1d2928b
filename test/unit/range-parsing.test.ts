import { describe, expect, it } from "vitest";
import { contentRange, parseRange, unsatisfiedRange } from "../../src/http/ranges.ts";

describe("parseRange", () => {
  const size = 1000;
  const partial = (start: number, end: number) => ({ kind: "partial", range: { start, end } });

  it("sends the whole body without a Range header", () => {
    expect(parseRange(undefined, size)).toEqual({ kind: "whole" });
  });

  it("reads the three forms of one range", () => {
    expect(parseRange("bytes=0-99", size)).toEqual(partial(0, 100));
    expect(parseRange("bytes=500-", size)).toEqual(partial(500, 1000));
    expect(parseRange("bytes=-10", size)).toEqual(partial(990, 1000));
    expect(parseRange("bytes=999-999", size)).toEqual(partial(999, 1000));
  });

  it("allows whitespace and any case, as the RFC does", () => {
    expect(parseRange("Bytes = 1 - 2", size)).toEqual(partial(1, 3));
  });

  it("clips a range that runs past the end, and a suffix longer than the body", () => {
    expect(parseRange("bytes=900-5000", size)).toEqual(partial(900, 1000));
    expect(parseRange("bytes=-5000", size)).toEqual(partial(0, 1000));
  });

  it("finds a range that starts at or past the end unsatisfiable", () => {
    expect(parseRange("bytes=1000-", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=1000-2000", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=99999999999999999999-", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=-0", size)).toEqual({ kind: "unsatisfiable" });
  });

  it("ignores malformed headers, other units and several ranges", () => {
    for (const header of [
      "",
      "bytes=",
      "bytes=-",
      "bytes=5-2",
      "bytes=a-b",
      "bytes=1-2-3",
      "bytes=0-1,5-6",
      "items=0-1",
      "bytes 0-1",
      "bytes=-1-",
      "bytes=0x10-",
    ]) {
      expect(parseRange(header, size), header).toEqual({ kind: "whole" });
    }
  });

  it("formats Content-Range for a 206 and a 416", () => {
    expect(contentRange({ start: 0, end: 100 }, size)).toBe("bytes 0-99/1000");
    expect(unsatisfiedRange(size)).toBe("bytes */1000");
  });
});
