import { describeRetention } from "../core/pins/retention.ts";
import { retentionFromOptions } from "../core/pins/pin-json.ts";
import { CONFIG_OPTION, openPins } from "./pin-service.ts";
import { HELP_ROW, helpRows, parseCommand, UsageError } from "./usage.ts";

export const pinHelp = `Usage: storefront pin NAME STORE-PATH [--keep-revisions N | --keep-days D | --keep-forever]

Keep STORE-PATH (and its closure) from Nix's garbage collector under the name NAME. Pinning a
name again adds a revision; the retention decides which revisions stay (\`storefront prune\`
and the daemon remove the others). STORE-PATH may be the logical path (/nix/store/...) or
where the files are. A new pin keeps its revisions forever unless told otherwise; an existing
pin keeps its retention unless a new one is given.

Options:
${helpRows([
  ["--keep-revisions N", "keep the newest N revisions"],
  [
    "--keep-days D",
    "keep revisions for D days after they were made; the newest stays\nwhile the pin exists",
  ],
  ["--keep-forever", "keep every revision"],
  CONFIG_OPTION,
  HELP_ROW,
])}`;

function positiveInteger(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`--${option} takes a whole number of at least 1, not "${text}"`);
  }
  return Number(text);
}

export function pinCommand(args: string[]): number {
  const parsed = parseCommand(
    args,
    {
      "keep-revisions": { type: "string" },
      "keep-days": { type: "string" },
      "keep-forever": { type: "boolean" },
      config: { type: "string" },
    },
    pinHelp,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const [name, storePath, ...rest] = positionals;
  if (name === undefined || storePath === undefined || rest.length > 0) {
    throw new UsageError(`expected NAME and STORE-PATH\n\n${pinHelp}`);
  }
  const retention = retentionFromOptions({
    keepRevisions: positiveInteger(values["keep-revisions"], "keep-revisions"),
    keepDays: positiveInteger(values["keep-days"], "keep-days"),
    keepForever: values["keep-forever"],
  });
  if (!retention.ok) throw new UsageError(retention.reason);
  const opened = openPins(values.config, true);
  try {
    const pin = opened.pins.pin(name, storePath, retention.retention);
    const latest = pin.revisions.at(-1);
    process.stdout.write(
      `pinned ${pin.name} revision ${latest?.number ?? 0}: ${latest?.storePath ?? ""} (${describeRetention(pin.retention)})\n`,
    );
  } finally {
    opened.close();
  }
  return 0;
}
