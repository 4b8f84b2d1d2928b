#!/usr/bin/env node
// The `storefront` executable. storefront needs Node 24 (its type stripping, node:sqlite,
// process.execve); this file checks that first and says so in one line, rather than the
// SyntaxError an older Node gives for a module it cannot load. So it is written for any Node
// that runs ES modules (12 and later): no `node:` imports, no top-level await, and the rest of
// storefront loaded only after the check.

/* global process, URL -- Node's globals, not imported: `node:process` is not in every Node */
import { existsSync } from "fs";
import { fileURLToPath } from "url";

const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);

if (major >= REQUIRED_MAJOR) {
  // A failure there ends the process with exit code 1, as an uncaught error does.
  void import("./start.js");
} else {
  const checkout = fileURLToPath(new URL("..", import.meta.url));
  const ownNode = `${checkout}node_modules/.bin/node`;
  const how = existsSync(ownNode)
    ? `start it with the Node that npm installed here: ${ownNode} ${checkout}src/bin.js (see "On the PATH" in the README)`
    : `install Node ${REQUIRED_MAJOR} or later (https://nodejs.org/en/download), or run npm ci in the checkout and use npx storefront`;
  process.stderr.write(
    `storefront: needs Node ${REQUIRED_MAJOR} or later, and ${process.execPath} is Node ${process.versions.node}; ${how}\n`,
  );
  process.exitCode = 1;
}
