// CA derivations' realisations: which output path a derivation output (named by the hash of
// the derivation modulo its inputs' outputs) built to. Served as Nix's binary caches store them,
// `realisations/<id>.doi`, in the JSON of Nix's Realisation::toJSON.

export interface DrvOutput {
  /** `sha256:<64 hex digits>`, as in the database's Realisations.drvPath. */
  readonly drvHash: string;
  readonly outputName: string;
}

export interface Realisation {
  readonly id: DrvOutput;
  /** The output's base name, `<hash>-<name>`. */
  readonly outPath: string;
  readonly signatures: readonly string[];
  /** Realisations this one depends on: id → out path base name. */
  readonly dependentRealisations: readonly { id: DrvOutput; outPath: string }[];
}

// Output names follow store path name rules; `!` separates, so it cannot be in either part.
const DRV_OUTPUT_PATTERN = /^(sha256:[0-9a-f]{64})!((?!\.)[A-Za-z0-9+\-._?=]{1,211})$/;

/** The id in a realisation URL, or undefined. `!` and `:` may come percent-encoded. */
export function parseDrvOutput(text: string): DrvOutput | undefined {
  const decoded = text.replace(/%21/gi, "!").replace(/%3a/gi, ":");
  const match = DRV_OUTPUT_PATTERN.exec(decoded);
  if (match === null) return undefined;
  return { drvHash: match[1] ?? "", outputName: match[2] ?? "" };
}

export function drvOutputText(id: DrvOutput): string {
  return `${id.drvHash}!${id.outputName}`;
}

/**
 * The `.doi` document. Nix builds it as an nlohmann::json object, which prints its keys sorted;
 * we print the same bytes.
 */
export function renderRealisation(realisation: Realisation): string {
  const dependencies = [...realisation.dependentRealisations]
    .map(({ id, outPath }) => [drvOutputText(id), outPath] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const dependentText = dependencies
    .map(([id, outPath]) => `${JSON.stringify(id)}:${JSON.stringify(outPath)}`)
    .join(",");
  return (
    `{"dependentRealisations":{${dependentText}},` +
    `"id":${JSON.stringify(drvOutputText(realisation.id))},` +
    `"outPath":${JSON.stringify(realisation.outPath)},` +
    `"signatures":${JSON.stringify(realisation.signatures)}}`
  );
}
