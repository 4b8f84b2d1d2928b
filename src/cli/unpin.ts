import { CONFIG_OPTION, openPins } from "./pin-service.ts";
import { HELP_ROW, helpRows, parseCommand, UsageError } from "./usage.ts";

export const unpinHelp = `Usage: storefront unpin NAME

Remove the pin NAME and all its revisions' roots; Nix's garbage collector may then collect the
paths that nothing else keeps. Exits with 1 when there is no such pin.

Options:
${helpRows([CONFIG_OPTION, HELP_ROW])}`;

export function unpinCommand(args: string[]): number {
  const parsed = parseCommand(args, { config: { type: "string" } }, unpinHelp);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (name === undefined || rest.length > 0) {
    throw new UsageError(`expected one NAME\n\n${unpinHelp}`);
  }
  const opened = openPins(values.config, false);
  try {
    if (!opened.pins.unpin(name)) {
      process.stderr.write(`storefront: there is no pin "${name}"\n`);
      return 1;
    }
  } finally {
    opened.close();
  }
  process.stdout.write(`unpinned ${name}\n`);
  return 0;
}
