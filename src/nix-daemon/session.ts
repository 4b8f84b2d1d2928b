// The operations on one connection, as methods: what a caller holds while it needs several
// operations on the same connection (a temporary root lasts as long as its connection).

import type { DrvOutput, Realisation } from "../core/nix/realisation.ts";
import type { DaemonConnection } from "./connection.ts";
import type { HandshakeResult } from "./handshake.ts";
import { addToStoreNar, type NarImport } from "./operations/add-to-store-nar.ts";
import { addBuildLog } from "./operations/build-log.ts";
import {
  addIndirectRoot,
  addPermRoot,
  addTempRoot,
  collectGarbage,
  type GcRequest,
  type GcResult,
} from "./operations/gc.ts";
import { isValidPath, queryPathInfo, type DaemonPathInfo } from "./operations/paths.ts";
import {
  queryBuildTrace,
  queryRealisation,
  realisationForm,
  registerBuildTrace,
  registerDrvOutput,
  type BuildTraceEntry,
} from "./operations/realisations.ts";
import type { DataSource } from "./send-data.ts";

export class DaemonSession {
  readonly #connection: DaemonConnection;
  #tempRoots = false;

  constructor(connection: DaemonConnection) {
    this.#connection = connection;
  }

  get info(): HandshakeResult {
    return this.#connection.info;
  }

  /** `1.34` and so on: the version both ends speak. */
  get protocolVersion(): string {
    return this.#connection.protocolVersion;
  }

  /** True once this session holds temporary roots: its connection is closed soon after. */
  get holdsTempRoots(): boolean {
    return this.#tempRoots;
  }

  /** Which realisations the daemon takes; see operations/realisations.ts. */
  get realisationForm(): "drv-hash" | "drv-path" | "none" {
    return realisationForm(this.#connection.info);
  }

  isValidPath(storePath: string): Promise<boolean> {
    return this.#connection.run((channel) => isValidPath(channel, storePath));
  }

  queryPathInfo(storePath: string): Promise<DaemonPathInfo | undefined> {
    return this.#connection.run((channel) => queryPathInfo(channel, storePath));
  }

  /** Streams `nar` (a Readable, or any async iterable of bytes) to the daemon as `info`'s path. */
  addToStoreNar(info: NarImport, nar: DataSource): Promise<void> {
    // The daemon makes the path a temporary root of this connection: kept open, the
    // connection would keep every path it added alive from the garbage collector (and the
    // budget) for as long as it stays open (see ROOTED_IDLE_MS in client.ts).
    this.#tempRoots = true;
    return this.#connection.run((channel) => addToStoreNar(channel, info, nar));
  }

  addBuildLog(drvPath: string, log: DataSource): Promise<void> {
    return this.#connection.run((channel) => addBuildLog(channel, drvPath, log));
  }

  registerDrvOutput(realisation: Realisation): Promise<void> {
    return this.#connection.run((channel) => registerDrvOutput(channel, realisation));
  }

  queryRealisation(id: DrvOutput): Promise<Realisation | undefined> {
    return this.#connection.run((channel) => queryRealisation(channel, id));
  }

  registerBuildTrace(entry: BuildTraceEntry): Promise<void> {
    return this.#connection.run((channel) => registerBuildTrace(channel, entry));
  }

  queryBuildTrace(drvPath: string, outputName: string): Promise<BuildTraceEntry | undefined> {
    return this.#connection.run((channel) => queryBuildTrace(channel, drvPath, outputName));
  }

  collectGarbage(request: GcRequest): Promise<GcResult> {
    return this.#connection.run((channel) => collectGarbage(channel, request));
  }

  /** Keeps `storePath` from the garbage collector until this session ends. */
  addTempRoot(storePath: string): Promise<void> {
    this.#tempRoots = true;
    return this.#connection.run((channel) => addTempRoot(channel, storePath));
  }

  addIndirectRoot(link: string): Promise<void> {
    return this.#connection.run((channel) => addIndirectRoot(channel, link));
  }

  addPermRoot(storePath: string, gcRoot: string): Promise<string> {
    return this.#connection.run((channel) => addPermRoot(channel, storePath, gcRoot));
  }
}
