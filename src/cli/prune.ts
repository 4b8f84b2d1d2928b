import { CONFIG_OPTION_HELP, openPins } from "./pin-service.ts";
import { parseCommandArgs, UsageError } from "./usage.ts";

export const pruneHelp = `Usage: storefront prune

Remove the pin revisions that their pin's retention no longer keeps, and pins left without
revisions. Nix's garbage collector (nix-store --gc) may then collect what they kept. The
daemon does the same every [gcroots] prune_interval seconds.

Options:
${CONFIG_OPTION_HELP}
  -h, --help      show this help`;

export function pruneCommand(args: string[]): number {
  const { values, positionals } = parseCommandArgs(
    {
      args,
      options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    },
    pruneHelp,
  );
  if (values.help === true) {
    process.stdout.write(pruneHelp + "\n");
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`unexpected "${positionals[0] ?? ""}"\n\n${pruneHelp}`);
  const opened = openPins(values.config, false);
  const pruned = opened.pins.prune();
  opened.close();
  for (const { pin, revision } of pruned) {
    process.stdout.write(`removed ${pin} revision ${revision.number}: ${revision.storePath}\n`);
  }
  process.stdout.write(`${pruned.length} revision${pruned.length === 1 ? "" : "s"} removed\n`);
  return 0;
}
