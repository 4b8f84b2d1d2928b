// RegisterDrvOutput and QueryRealisation: CA derivations' realisations. Two incompatible forms:
// up to Nix 2.34 a realisation is keyed by the derivation's hash modulo (`sha256:<hex>!out`) and
// travels as Nix's JSON (from 1.31; before, as an id and an out path); Nix 2.35's daemon (1.38
// with the realisation-with-path-not-hash feature) keys it by derivation path and output name
// and takes nothing else. Neither converts into the other without the derivation, so each form
// has its own functions and the wrong one for the daemon is refused before anything is sent.

import {
  drvOutputText,
  parseDrvOutput,
  renderRealisation,
  type DrvOutput,
  type Realisation,
} from "../../core/nix/realisation.ts";
import type { Channel } from "../channel.ts";
import { NixDaemonError } from "../errors.ts";
import { FEATURE_REALISATION_WITH_PATH, Op, protocolMinor, versionText } from "../protocol.ts";
import { WireWriter } from "../wire.ts";
import { storePathArgument } from "./store-path.ts";

/** Which realisations the daemon takes: by derivation hash (JSON), by path, or none. */
export function realisationForm(
  channel: Pick<Channel, "version" | "features">,
): "drv-hash" | "drv-path" | "none" {
  if (channel.features.has(FEATURE_REALISATION_WITH_PATH)) return "drv-path";
  // 1.27 (Nix 2.4) is the first daemon with CA derivations that speaks of realisations.
  return protocolMinor(channel.version) >= 27 ? "drv-hash" : "none";
}

function requireForm(channel: Channel, form: "drv-hash" | "drv-path"): void {
  const actual = realisationForm(channel);
  if (actual === form) return;
  const wanted = form === "drv-hash" ? "by derivation hash" : "by derivation path";
  const has =
    actual === "none"
      ? "takes none"
      : actual === "drv-hash"
        ? "keys them by derivation hash"
        : "keys them by derivation path (Nix 2.35 and later)";
  throw new NixDaemonError(
    "unsupported",
    `realisations ${wanted}: the Nix daemon (protocol ${versionText(channel.version)}) ${has}`,
  );
}

/** Registers a realisation keyed by derivation hash (Nix up to 2.34). Its out path must be valid. */
export async function registerDrvOutput(channel: Channel, realisation: Realisation): Promise<void> {
  requireForm(channel, "drv-hash");
  const request = new WireWriter().u64(Op.registerDrvOutput);
  if (protocolMinor(channel.version) < 31) {
    request.string(drvOutputText(realisation.id)).string(realisation.outPath);
  } else {
    request.string(renderRealisation(realisation));
  }
  await channel.write(request.toBuffer());
  await channel.processStderr();
}

export async function queryRealisation(
  channel: Channel,
  id: DrvOutput,
): Promise<Realisation | undefined> {
  requireForm(channel, "drv-hash");
  await channel.write(
    new WireWriter().u64(Op.queryRealisation).string(drvOutputText(id)).toBuffer(),
  );
  await channel.processStderr();
  const found = await channel.reader.strings();
  const first = found[0];
  if (first === undefined) return undefined;
  if (protocolMinor(channel.version) < 31) {
    // Only the out path, in full.
    const outPath = first.slice(first.lastIndexOf("/") + 1);
    return { id, outPath, signatures: [], dependentRealisations: [] };
  }
  return parseRealisationJson(first);
}

/** Nix's Realisation JSON, as the daemon sends it; a malformed one is a protocol error. */
export function parseRealisationJson(text: string): Realisation {
  const bad = (): NixDaemonError =>
    new NixDaemonError("protocol", `the Nix daemon sent a realisation it should not: ${text}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad();
  }
  if (!isRecord(value)) throw bad();
  const id = typeof value["id"] === "string" ? parseDrvOutput(value["id"]) : undefined;
  const outPath = value["outPath"];
  const signatures: unknown = value["signatures"] ?? [];
  const dependencies: unknown = value["dependentRealisations"] ?? {};
  if (id === undefined || typeof outPath !== "string") throw bad();
  if (!isStringArray(signatures) || !isRecord(dependencies)) throw bad();
  const dependentRealisations = Object.entries(dependencies).map(([key, path]) => {
    const dependencyId = parseDrvOutput(key);
    if (dependencyId === undefined || typeof path !== "string") throw bad();
    return { id: dependencyId, outPath: path };
  });
  return { id, outPath, signatures, dependentRealisations };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** A realisation keyed by derivation path (Nix 2.35's build trace). Paths are full store paths. */
export interface BuildTraceEntry {
  readonly drvPath: string;
  readonly outputName: string;
  readonly outPath: string;
  readonly signatures: readonly string[];
}

export async function registerBuildTrace(channel: Channel, entry: BuildTraceEntry): Promise<void> {
  requireForm(channel, "drv-path");
  const request = new WireWriter()
    .u64(Op.registerDrvOutput)
    .string(storePathArgument(entry.drvPath))
    .string(entry.outputName)
    .string(storePathArgument(entry.outPath))
    .strings(entry.signatures);
  await channel.write(request.toBuffer());
  await channel.processStderr();
}

export async function queryBuildTrace(
  channel: Channel,
  drvPath: string,
  outputName: string,
): Promise<BuildTraceEntry | undefined> {
  requireForm(channel, "drv-path");
  await channel.write(
    new WireWriter()
      .u64(Op.queryRealisation)
      .string(storePathArgument(drvPath))
      .string(outputName)
      .toBuffer(),
  );
  await channel.processStderr();
  const present = await channel.reader.u64();
  if (present === 0) return undefined;
  if (present !== 1) {
    throw new NixDaemonError("protocol", `the Nix daemon sent an optional tagged ${present}`);
  }
  const outPath = await channel.reader.string();
  const signatures = await channel.reader.strings();
  return { drvPath, outputName, outPath, signatures };
}
