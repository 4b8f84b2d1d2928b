import { pinJson } from "../core/pins/pin-json.ts";
import { clockFromEnv } from "../clock.ts";
import { describeExpiry, describeRetention, revisionExpiries } from "../core/pins/retention.ts";
import { CONFIG_OPTION, openPins } from "./pin-service.ts";
import { expectNoPositionals, HELP_ROW, helpRows, parseCommand } from "./usage.ts";

export const pinsHelp = `Usage: storefront pins [--json]

List the pins, their retention and their revisions, with when each revision expires.

Options:
${helpRows([["--json", 'print {"pins": [...]}, as GET /api/v1/pins answers'], CONFIG_OPTION, HELP_ROW])}`;

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
  if (pins.length === 0) {
    process.stdout.write(`no pins in ${opened.pins.rootsDir}\n`);
    return 0;
  }
  const now = clockFromEnv()();
  for (const pin of pins) {
    process.stdout.write(`${pin.name} (${describeRetention(pin.retention)})\n`);
    const expiries = revisionExpiries(pin, now);
    pin.revisions.forEach((revision, index) => {
      const made = new Date(revision.createdAt).toISOString();
      const expiry = expiries[index];
      const until = expiry === undefined ? "" : `  (${describeExpiry(expiry)})`;
      process.stdout.write(`  ${revision.number}  ${made}  ${revision.storePath}${until}\n`);
    });
  }
  return 0;
}
