// Opening a derivation's build log from Nix's log directory.

import { open, type FileHandle } from "node:fs/promises";
import { buildLogPath, type DrvBaseName } from "../core/nix/build-log.ts";
import { isMissingFileError } from "../errors.ts";

export interface BuildLogFile {
  readonly file: FileHandle;
  readonly size: number;
  /** The file is bzip2-compressed (`.bz2`), as Nix writes logs by default. */
  readonly bzip2: boolean;
}

/** The log of `drv`, opened; undefined when Nix kept none. Plain first, as Nix looks. */
export async function openBuildLog(
  logDir: string,
  drv: DrvBaseName,
): Promise<BuildLogFile | undefined> {
  const path = buildLogPath(logDir, drv);
  for (const [suffix, bzip2] of [
    ["", false],
    [".bz2", true],
  ] as const) {
    let file: FileHandle;
    try {
      file = await open(path + suffix, "r");
    } catch (error) {
      if (isMissingFileError(error)) continue;
      throw error;
    }
    try {
      const stats = await file.stat();
      if (stats.isFile()) return { file, size: stats.size, bzip2 };
    } catch (error) {
      await file.close();
      throw error;
    }
    await file.close();
  }
  return undefined;
}
