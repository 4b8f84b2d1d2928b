// What was pushed, for /metrics and the status page: each push goes to the state database
// (time, token name, path, NAR size; see src/state/), where it also counts as a use of the
// path, and counters of paths and bytes pushed and of refused uploads by reason.

import { Counter, type Registry } from "prom-client";
import type { StateWriter } from "../state/state-writer.ts";

export type RefusalReason =
  "too_large" | "malformed" | "mismatch" | "missing_reference" | "signature" | "cut_off" | "daemon";

export interface PushEntry {
  /** The name of the token that pushed it (never its secret). */
  readonly token: string;
  readonly path: string;
  /** The path's 32-character hash part, under which its last use is kept. */
  readonly hash: string;
  readonly narSize: number;
}

export class PushRecord {
  /** Undefined when the state database could not be opened (storefront warned at start). */
  readonly #state: StateWriter | undefined;
  readonly #paths: Counter;
  readonly #bytes: Counter;
  readonly #refused: Counter<"reason">;

  constructor(state: StateWriter | undefined, registry: Registry) {
    this.#state = state;
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

  /**
   * Counts the push and hands it to the state writer, which writes it within two seconds,
   * off the request path: a failure to write it is no reason to fail the push.
   */
  pushed(entry: PushEntry): void {
    this.#paths.inc();
    this.#bytes.inc(entry.narSize);
    const { hash, ...record } = entry;
    this.#state?.pushed(record, hash);
  }

  refused(reason: RefusalReason): void {
    this.#refused.inc({ reason });
  }
}
