// What an operation sees of a connection: the negotiated protocol, the bytes coming in, a way to
// send bytes with backpressure, and the log stream. Operations are small functions over this, so
// they can be driven by a real socket or, in tests, by a scripted peer.

import type { StderrHandlers } from "./stderr.ts";
import type { WireReader } from "./wire-reader.ts";

export interface Channel {
  /** The negotiated protocol version, `major << 8 | minor`. */
  readonly version: number;
  /** Features both ends named (from 1.38). */
  readonly features: ReadonlySet<string>;
  /** Whether the daemon trusts us (from 1.35); undefined when it did not say. */
  readonly daemonTrustsUs: boolean | undefined;
  readonly reader: WireReader;
  /**
   * Sends bytes; resolves once the socket has handed them to the system (so a stream is sent at
   * the daemon's pace, and the buffer may be reused).
   */
  write(bytes: Buffer): Promise<void>;
  /** Reads the log stream up to STDERR_LAST (see stderr.ts). */
  processStderr(onRead?: StderrHandlers["onRead"]): Promise<void>;
  /** Closes the connection after this operation: what the daemon reads next is unknown. */
  poison(reason: Error): void;
}
