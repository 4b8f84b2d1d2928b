// What the upload routes are given: the staging directory, the Nix daemon that registers
// uploads, and the record of pushes (in the state database). Opened at start when `[push] enable` is on.

import { join } from "node:path";
import type { Config } from "../config/config.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { NixDaemonClient } from "../nix-daemon/index.ts";
import type { StateWriter } from "../state/state-writer.ts";
import { PushRecord } from "./push-record.ts";
import { STAGED_LIFETIME_MS, Staging } from "./staging.ts";

export interface Uploads {
  readonly staging: Staging;
  readonly daemon: NixDaemonClient;
  readonly record: PushRecord;
  /**
   * Called by the narinfo route when a path has landed, so that the process's store tasks look
   * at once (the scan, the budget's check after new paths) rather than wait for the database
   * watch, whose events a loaded machine may deliver late or drop.
   */
  landed(): void;
  /** Who `landed` tells: the store tasks of this process, set as they start. */
  onLanded(listener: () => void): void;
  close(): void;
}

export function openUploads(
  config: Config,
  metrics: Metrics,
  state: StateWriter | undefined,
  collectYoung?: () => void,
): Uploads | undefined {
  if (!config.push.enable) return undefined;
  const staging = new Staging(join(config.state_dir, "uploads"), { collectYoung });
  const daemon = new NixDaemonClient({ socketPath: config.daemon_socket });
  const record = new PushRecord(state, metrics.registry);
  const sweep = setInterval(() => {
    staging.sweep(Date.now());
  }, STAGED_LIFETIME_MS / 4);
  sweep.unref();
  const listeners: (() => void)[] = [];
  return {
    staging,
    daemon,
    record,
    landed: () => {
      for (const listener of listeners) listener();
    },
    onLanded: (listener) => {
      listeners.push(listener);
    },
    close: () => {
      clearInterval(sweep);
      daemon.close();
    },
  };
}
