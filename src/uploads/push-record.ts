// What was pushed, for /metrics and for the status page to come: each push appended as one
// JSON line to <state_dir>/pushes.jsonl (time, token name, path, NAR size), and counters of
// paths and bytes pushed and of refused uploads by reason. (A SQLite state DB is another issue.)

import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { Counter, type Registry } from "prom-client";
import type { Logger } from "../log.ts";

export type RefusalReason =
  "too_large" | "malformed" | "mismatch" | "missing_reference" | "signature" | "cut_off" | "daemon";

export interface PushEntry {
  readonly time: string;
  readonly token: string;
  readonly path: string;
  readonly narSize: number;
}

export class PushRecord {
  readonly file: string;
  readonly #log: Logger;
  readonly #paths: Counter;
  readonly #bytes: Counter;
  readonly #refused: Counter<"reason">;

  constructor(stateDir: string, registry: Registry, log: Logger) {
    this.file = join(stateDir, "pushes.jsonl");
    this.#log = log;
    this.#paths = new Counter({
      name: "storefront_push_paths_total",
      help: "Store paths registered by uploads.",
      registers: [registry],
    });
    this.#bytes = new Counter({
      name: "storefront_push_nar_bytes_total",
      help: "NAR bytes of the store paths registered by uploads.",
      registers: [registry],
    });
    this.#refused = new Counter({
      name: "storefront_push_refused_total",
      help: "Uploads refused, by reason.",
      labelNames: ["reason"] as const,
      registers: [registry],
    });
  }

  async pushed(entry: PushEntry): Promise<void> {
    this.#paths.inc();
    this.#bytes.inc(entry.narSize);
    try {
      await appendFile(this.file, JSON.stringify(entry) + "\n", { mode: 0o600 });
    } catch (error) {
      // The path is in the store all the same: losing its record is no reason to fail the push.
      this.#log.warn("could not record a push", { file: this.file, detail: String(error) });
    }
  }

  refused(reason: RefusalReason): void {
    this.#refused.inc({ reason });
  }
}
