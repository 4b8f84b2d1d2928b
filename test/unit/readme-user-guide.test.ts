// The README's user guide (everything before "## Development") tells users what to do; how
// storefront tunes its own memory and compiles its sources, and variables for tests, are in the
// section for developers. The systemd unit's own lines (code blocks) set what they must.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("the README", () => {
  const development = README.indexOf("\n## Development\n");
  const guide = README.slice(0, development).replace(/^```[^\n]*\n[\s\S]*?^```\n/gm, "");
  const forDevelopers = README.slice(development);

  it.each(["STOREFRONT_NOW", "MALLOC_ARENA_MAX", "semi-space", "type stripper", "VmRSS"])(
    "keeps %s out of the user guide, for developers",
    (detail) => {
      expect(development).toBeGreaterThan(0);
      expect(guide).not.toContain(detail);
      expect(forDevelopers).toContain(detail);
    },
  );
});
