// A client of the Nix daemon's worker protocol (see client.ts); what the rest of storefront uses.

export { NixDaemonClient, type NixDaemonClientOptions } from "./client.ts";
export type { DaemonSession } from "./session.ts";
export { NixDaemonError, type NixDaemonErrorKind, type DaemonErrorDetails } from "./errors.ts";
export type { HandshakeResult } from "./handshake.ts";
export type { NarImport } from "./operations/add-to-store-nar.ts";
export type { DaemonPathInfo } from "./operations/paths.ts";
export type { GcRequest, GcResult } from "./operations/gc.ts";
export type { BuildTraceEntry } from "./operations/realisations.ts";
export type { LogMessage } from "./stderr.ts";
export type { DataSource } from "./send-data.ts";
