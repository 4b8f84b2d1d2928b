import { describe, expect, it } from "vitest";
import { autoPinName, pinNameProblem, userPinNameProblem } from "../../src/core/pins/pin-name.ts";

describe("pin names", () => {
  it.each([
    "web",
    "release-1.2",
    "ci@main",
    "Ünïcode name",
    "a:b",
    "日本語",
    "emoji 🎉",
    "x".repeat(200),
  ])("accepts %s", (name) => {
    expect(pinNameProblem(name)).toBeUndefined();
    expect(userPinNameProblem(name)).toBeUndefined();
  });

  it.each([
    ["", "empty"],
    [".", "dot"],
    ["..", "dot"],
    [".hidden", "dot"],
    ["a/b", "slash"],
    ["../etc", "dot"],
    ["a\\b", "slash"],
    ["tab\there", "control"],
    ["new\nline", "control"],
    ["nul\u0000", "control"],
    ["del\u007f", "control"],
    // C1 controls: NEL (a line break to some tools) and CSI (a terminal escape).
    ["a\u0085b", "control"],
    ["a\u009b31mb", "control"],
    // Bidi embeddings, overrides and isolates, which reorder what a person reads.
    ["a\u202eb", "invisible"],
    ["a\u202ab", "invisible"],
    ["a\u2066b", "invisible"],
    ["a\u2069b", "invisible"],
    ["a\u200fb", "invisible"],
    // Zero-width and other invisible characters, and line separators.
    ["a\u200bb", "invisible"],
    ["a\u2060b", "invisible"],
    ["\ufeffweb", "invisible"],
    ["a\u00adb", "invisible"],
    ["a\u2028b", "control"],
    ["a\u3164b", "invisible"],
    ["x".repeat(201), "at most"],
  ])("refuses %j (%s)", (name, reason) => {
    expect(pinNameProblem(name)).toContain(reason);
  });

  it("keeps the auto: prefix for storefront's own pins", () => {
    const name = autoPinName("0123456789abcdfghijklmnpqrsvwxyz-app");
    expect(name).toBe("auto:0123456789abcdfghijklmnpqrsvwxyz-app");
    expect(pinNameProblem(name)).toBeUndefined();
    expect(userPinNameProblem(name)).toContain("kept for pins storefront makes");
  });
});
