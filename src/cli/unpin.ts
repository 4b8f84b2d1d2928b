import { CONFIG_OPTION_HELP, openPins } from "./pin-service.ts";
import { parseCommandArgs, UsageError } from "./usage.ts";

export const unpinHelp = `Usage: storefront unpin NAME

Remove the pin NAME and all its revisions' roots; Nix's garbage collector may then collect the
paths that nothing else keeps. Exits with 1 when there is no such pin.

Options:
${CONFIG_OPTION_HELP}
  -h, --help      show this help`;

export function unpinCommand(args: string[]): number {
  const { values, positionals } = parseCommandArgs(
    {
      args,
      options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    },
    unpinHelp,
  );
  if (values.help === true) {
    process.stdout.write(unpinHelp + "\n");
    return 0;
  }
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
