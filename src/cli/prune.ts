import { CONFIG_OPTION, openPins } from "./pin-service.ts";
import { expectNoPositionals, HELP_ROW, helpRows, parseCommand } from "./usage.ts";

export const pruneHelp = `Usage: storefront prune

Remove the pin revisions that their pin's retention no longer keeps, and pins left without
revisions. Nix's garbage collector (nix-store --gc) may then collect what they kept. The
daemon does the same every [gcroots] prune_interval seconds.

Options:
${helpRows([CONFIG_OPTION, HELP_ROW])}`;

export function pruneCommand(args: string[]): number {
  const parsed = parseCommand(args, { config: { type: "string" } }, pruneHelp);
  if (parsed === undefined) return 0;
  expectNoPositionals(parsed.positionals, pruneHelp);
  const { values } = parsed;
  const opened = openPins(values.config, false);
  const pruned = opened.pins.prune();
  opened.close();
  for (const { pin, revision } of pruned) {
    process.stdout.write(`removed ${pin} revision ${revision.number}: ${revision.storePath}\n`);
  }
  process.stdout.write(`${pruned.length} revision${pruned.length === 1 ? "" : "s"} removed\n`);
  return 0;
}
