import { describe, expect, it } from "vitest";
import { autoPinName, pinNameProblem, userPinNameProblem } from "../src/core/pin-name.ts";

describe("pin names", () => {
  it.each(["web", "release-1.2", "ci@main", "Ünïcode name", "a:b", "x".repeat(200)])(
    "accepts %s",
    (name) => {
      expect(pinNameProblem(name)).toBeUndefined();
      expect(userPinNameProblem(name)).toBeUndefined();
    },
  );

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
