// Opening a derivation's build log from Nix's log directory.

import { open, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { buildLogPath, type DrvBaseName } from "../../core/nix/build-log.ts";
import { isMissingFileError } from "../../errors.ts";
import { bunzip2 } from "./bzip2.ts";
import { openedFile } from "./open-file.ts";

export interface BuildLogFile {
  /** Bytes of the file as stored (compressed, for a `.bz2`). */
  readonly size: number;
  /** The file is bzip2-compressed (`.bz2`), as Nix writes logs by default. */
  readonly bzip2: boolean;
  /** The log's bytes, as stored or (a `.bz2` with `decompress`) decompressed on the fly. */
  readonly chunks: (decompress: boolean) => Readable;
  readonly close: () => Promise<void>;
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
      if (stats.isFile()) {
        const { chunks, close } = openedFile(file, stats.size);
        return {
          size: stats.size,
          bzip2,
          chunks: (decompress) => (bzip2 && decompress ? bunzip2(chunks()) : chunks()),
          close,
        };
      }
    } catch (error) {
      await file.close();
      throw error;
    }
    await file.close();
  }
  return undefined;
}
