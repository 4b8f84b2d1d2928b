import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
    // Tests build stores with a real Nix and start the real CLI: seconds, not milliseconds, and
    // more on a busy two-core machine. Speed is measured in bench/, never here.
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
