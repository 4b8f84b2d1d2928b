#!/usr/bin/env node
// The `storefront` executable. storefront needs Node 24 (its type stripping, node:sqlite,
// process.execve) and a place outside node_modules; this file checks both first and says so
// in one line, rather than the SyntaxError or stack trace Node gives for a module it cannot
// load. So it is written for any Node that runs ES modules (12 and later): no `node:` imports,
// no top-level await, and the rest of storefront (src/start.js) loaded only after the check.

/* global process, URL -- Node's globals, not imported: `node:process` is not in every Node */
import { existsSync } from "fs";
import { fileURLToPath } from "url";

const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);
const checkout = fileURLToPath(new URL("..", import.meta.url));

/** One line saying why storefront cannot run here and what to do instead, or undefined. */
function cannotRun() {
  if (major < REQUIRED_MAJOR) {
    const ownNode = `${checkout}node_modules/.bin/node`;
    const how = existsSync(ownNode)
      ? `start it with the Node that npm installed here: ${ownNode} ${checkout}src/bin.js (see "On the PATH" in the README)`
      : `install Node ${REQUIRED_MAJOR} or later (https://nodejs.org/en/download), or run npm ci in the checkout and use npx storefront`;
    return `needs Node ${REQUIRED_MAJOR} or later, and ${process.execPath} is Node ${process.versions.node}; ${how}`;
  }
  // A copy that `npm install -g` made from a tarball lies in node_modules, where Node does not
  // strip TypeScript types; a link to a checkout (`npm install -g DIR`, `npm link`) does not.
  if (checkout.split("/").includes("node_modules")) {
    return `cannot run from ${checkout}: Node strips TypeScript types only outside node_modules; install a link to a checkout instead (npm link in it, or npm install -g /path/to/checkout), or see "On the PATH" in the README`;
  }
  return undefined;
}

const problem = cannotRun();
if (problem === undefined) {
  // A failure there ends the process with exit code 1, as an uncaught error does.
  void import("./start.js");
} else {
  process.stderr.write(`storefront: ${problem}\n`);
  process.exitCode = 1;
}
