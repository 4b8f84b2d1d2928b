import { describe, expect, it } from "vitest";
import {
  decodeNixBase32,
  encodeNixBase32,
  isNixBase32,
  nixBase32Length,
} from "../../src/core/nix/nix-base32.ts";

// Vectors from `nix-hash --to-base32` and `nix-hash --flat --base32` (Nix 2.8).
const vectors = [
  {
    hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    nix32: "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
  },
  {
    hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    nix32: "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s",
  },
  { hex: "a9993e364706816aba3e25717850c26c9cd0d89d", nix32: "kpcd173cq987hw957sx6m0868wv3x6d9" },
];

describe("nix-base32", () => {
  it.each(vectors)("encodes $hex as Nix does", ({ hex, nix32 }) => {
    expect(encodeNixBase32(Buffer.from(hex, "hex"))).toBe(nix32);
  });

  it.each(vectors)("decodes $nix32 back", ({ hex, nix32 }) => {
    const bytes = decodeNixBase32(nix32, hex.length / 2);
    expect(Buffer.from(bytes ?? []).toString("hex")).toBe(hex);
  });

  it("has the lengths of store hashes and sha256 digests", () => {
    expect(nixBase32Length(20)).toBe(32);
    expect(nixBase32Length(32)).toBe(52);
    expect(encodeNixBase32(new Uint8Array(0))).toBe("");
  });

  it("rejects letters outside the alphabet and wrong lengths", () => {
    for (const letter of ["e", "o", "u", "t", "A", "-", "/", "."]) {
      expect(isNixBase32(letter.repeat(32), 32)).toBe(false);
      expect(decodeNixBase32(letter.repeat(32), 20)).toBeUndefined();
    }
    expect(isNixBase32("0".repeat(31), 32)).toBe(false);
    expect(isNixBase32("0".repeat(32), 32)).toBe(true);
  });

  it("rejects a string whose top bits overflow the bytes", () => {
    // 52 letters carry 260 bits; a sha256 has 256, so the first letter can be at most 0-f.
    expect(decodeNixBase32("z" + "0".repeat(51), 32)).toBeUndefined();
    expect(decodeNixBase32("1" + "0".repeat(51), 32)).toBeDefined();
  });
});
