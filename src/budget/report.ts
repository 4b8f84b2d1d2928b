// The log line of a run of the budget, the same for the daemon and `storefront gc`.

import type { Logger } from "../log.ts";
import type { CollectResult } from "./collect.ts";

export function logRun(log: Logger, run: CollectResult): void {
  const fields = {
    paths: run.deletedPaths.length,
    bytes: run.deletedBytes,
    seconds: Number(run.seconds.toFixed(3)),
    over_by: run.excess,
    nar_bytes: run.after.narBytes,
    free_bytes: run.after.freeBytes,
    refused: run.refused > 0 ? run.refused : undefined,
  };
  if (run.unmet) {
    log.warn("store over its budget and nothing dead left to delete: the rest is alive", {
      ...fields,
      still_over_by: run.stillOver,
      live_paths: run.after.paths,
    });
  } else {
    log.info("store over its budget: deleted dead paths, least recently used first", fields);
  }
}
