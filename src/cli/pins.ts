import { pinJson } from "../core/pin-json.ts";
import { describeRetention } from "../core/retention.ts";
import { CONFIG_OPTION_HELP, openPins } from "./pin-service.ts";
import { parseCommandArgs, UsageError } from "./usage.ts";

export const pinsHelp = `Usage: storefront pins [--json]

List the pins, their retention and their revisions.

Options:
  --json          print {"pins": [...]}, as GET /api/v1/pins answers
${CONFIG_OPTION_HELP}
  -h, --help      show this help`;

export function pinsCommand(args: string[]): number {
  const { values, positionals } = parseCommandArgs(
    {
      args,
      options: {
        json: { type: "boolean" },
        config: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    },
    pinsHelp,
  );
  if (values.help === true) {
    process.stdout.write(pinsHelp + "\n");
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`unexpected "${positionals[0] ?? ""}"\n\n${pinsHelp}`);
  const opened = openPins(values.config, false);
  const pins = opened.pins.list();
  opened.close();
  if (values.json === true) {
    process.stdout.write(JSON.stringify({ pins: pins.map(pinJson) }, null, 2) + "\n");
    return 0;
  }
  for (const pin of pins) {
    process.stdout.write(`${pin.name} (${describeRetention(pin.retention)})\n`);
    for (const revision of pin.revisions) {
      const made = new Date(revision.createdAt).toISOString();
      process.stdout.write(`  ${revision.number}  ${made}  ${revision.storePath}\n`);
    }
  }
  return 0;
}
