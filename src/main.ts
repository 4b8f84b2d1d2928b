// storefront's commands: pick the command, run it, and set the exit code in this one place
// (0 done, 1 a failure the user must fix, 2 a wrong command line: see cli/usage.ts).
// src/bin.js, the executable, calls `main`.

import { gcCommand, gcHelp } from "./cli/gc.ts";
import { keyCommand, keyHelp } from "./cli/key.ts";
import { pinCommand, pinHelp } from "./cli/pin.ts";
import { pinsCommand, pinsHelp } from "./cli/pins.ts";
import { pruneCommand, pruneHelp } from "./cli/prune.ts";
import { serveCommand, serveHelp } from "./cli/serve.ts";
import { tokenCommand, tokenHelp } from "./cli/token.ts";
import { unpinCommand, unpinHelp } from "./cli/unpin.ts";
import { CommandError, helpRows, UsageError } from "./cli/usage.ts";
import { ConfigError, StartupError, StorefrontError } from "./errors.ts";
import { createLogger } from "./log.ts";
import { VERSION } from "./version.ts";

const help = `Usage: storefront COMMAND [OPTIONS]

Serve a machine's Nix store as a signed binary cache.

Commands:
${helpRows([
  ["serve", "serve the store over HTTP"],
  ["key generate", "write a new signing key pair"],
  ["token generate", "write a new access token's secret"],
  ["pin", "keep a store path from the garbage collector, by name"],
  ["unpin", "remove a pin"],
  ["pins", "list the pins"],
  ["prune", "remove pin revisions past their retention"],
  ["gc", "keep the store within its budget now: delete dead paths, least recently used first"],
])}

Run \`storefront COMMAND --help\` for a command's options.

Exit codes:
${helpRows([
  ["0", "done"],
  ["1", "a failure to fix (config, files, addresses), said in one line on stderr"],
  ["2", "a wrong command line: unknown command or option, missing argument"],
])}`;

const helps: Readonly<Record<string, string>> = {
  serve: serveHelp,
  key: keyHelp,
  token: tokenHelp,
  pin: pinHelp,
  unpin: unpinHelp,
  pins: pinsHelp,
  prune: pruneHelp,
  gc: gcHelp,
};

async function run(argv: string[]): Promise<number> {
  const log = createLogger();
  const [command, ...args] = argv;
  switch (command) {
    case "serve":
      return serveCommand(args, log);
    case "key":
      return keyCommand(args);
    case "token":
      return tokenCommand(args);
    case "pin":
      return pinCommand(args);
    case "unpin":
      return unpinCommand(args);
    case "pins":
      return pinsCommand(args);
    case "prune":
      return pruneCommand(args);
    case "gc":
      return gcCommand(args, log);
    case "help":
      process.stdout.write((helps[args[0] ?? ""] ?? help) + "\n");
      return 0;
    case "--version":
    case "version":
      process.stdout.write(`storefront ${VERSION}\n`);
      return 0;
    case undefined:
      throw new UsageError(`no command given\n\n${help}`);
    case "-h":
    case "--help":
      process.stdout.write(help + "\n");
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"\n\n${help}`);
  }
}

/** Runs the command in `argv` and sets the exit code; src/bin.js calls it. */
export async function main(argv: string[]): Promise<void> {
  try {
    process.exitCode = await run(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`storefront: ${error.message}\n`);
      process.exitCode = 2;
    } else if (
      error instanceof CommandError ||
      error instanceof ConfigError ||
      error instanceof StartupError ||
      error instanceof StorefrontError
    ) {
      process.stderr.write(`storefront: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      throw error;
    }
  }
}
