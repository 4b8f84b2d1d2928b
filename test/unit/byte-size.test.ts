import { describe, expect, it } from "vitest";
import { parseByteSize } from "../../src/config/byte-size.ts";

describe("parseByteSize", () => {
  it("takes bytes as integers", () => {
    expect(parseByteSize(0)).toBe(0);
    expect(parseByteSize(4096)).toBe(4096);
    expect(parseByteSize(12n)).toBe(12);
  });

  it("takes strings with binary units", () => {
    expect(parseByteSize("10G")).toBe(10 * 1024 ** 3);
    expect(parseByteSize("512M")).toBe(512 * 1024 ** 2);
    expect(parseByteSize("512MiB")).toBe(512 * 1024 ** 2);
    expect(parseByteSize("100k")).toBe(102_400);
    expect(parseByteSize("1.5G")).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize("2T")).toBe(2 * 1024 ** 4);
    expect(parseByteSize("123")).toBe(123);
  });

  it("refuses anything else", () => {
    for (const value of [-1, 1.5, "", "G", "10X", "-5M", "ten", true, null, [], {}]) {
      expect(parseByteSize(value), JSON.stringify(value)).toBeUndefined();
    }
  });
});
