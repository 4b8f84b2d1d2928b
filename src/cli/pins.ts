import { pinJson } from "../core/pin-json.ts";
import { describeRetention } from "../core/retention.ts";
import { CONFIG_OPTION_HELP, openPins } from "./pin-service.ts";
import { expectNoPositionals, parseCommand } from "./usage.ts";

export const pinsHelp = `Usage: storefront pins [--json]

List the pins, their retention and their revisions.

Options:
  --json          print {"pins": [...]}, as GET /api/v1/pins answers
${CONFIG_OPTION_HELP}
  -h, --help      show this help`;

export function pinsCommand(args: string[]): number {
  const parsed = parseCommand(
    args,
    { json: { type: "boolean" }, config: { type: "string" } },
    pinsHelp,
  );
  if (parsed === undefined) return 0;
  expectNoPositionals(parsed.positionals, pinsHelp);
  const { values } = parsed;
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
