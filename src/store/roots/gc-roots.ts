// Pins as GC roots that Nix's own garbage collector honours. On disk, under the roots
// directory (inside Nix's gcroots, which the collector searches recursively):
//
//   <dir>/<pin name>/pin.json               the pin's retention; Nix ignores it (a regular file
//                                           is a root only when named like a store path)
//   <dir>/<pin name>/<n>-<UTC time>         revision n: a symlink to the logical store path
//
// The symlinks are the truth: a revision deleted by hand is gone, and a pin without revisions
// is no pin. Nothing is cached here, so changes made outside storefront are seen at once.

import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Clock } from "../../clock.ts";
import { pinNameProblem } from "../../core/pins/pin-name.ts";
import {
  expiredRevisions,
  parseRetention,
  parseRevisionLinkName,
  revisionLinkName,
  type Retention,
  type Revision,
} from "../../core/pins/retention.ts";
import { fileErrorReason } from "../../config/config-files.ts";
import { StorefrontError, isMissingFileError } from "../../errors.ts";

export interface Pin {
  readonly name: string;
  readonly retention: Retention;
  /** Oldest first. */
  readonly revisions: readonly Revision[];
}

export interface PrunedRevision {
  readonly pin: string;
  readonly revision: Revision;
}

const METADATA_FILE = "pin.json";
const FOREVER: Retention = { kind: "forever" };

export class GcRoots {
  readonly #dir: string;
  readonly #clock: Clock;

  constructor(dir: string, clock: Clock) {
    this.#dir = dir;
    this.#clock = clock;
  }

  get dir(): string {
    return this.#dir;
  }

  /** Creates the roots directory if needed; throws naming the directory when it cannot. */
  ensureDir(): void {
    try {
      mkdirSync(this.#dir, { recursive: true });
    } catch (error) {
      throw this.#fsError("create the GC roots directory", this.#dir, error);
    }
  }

  list(): Pin[] {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch (error) {
      if (isMissingFileError(error)) return [];
      throw this.#fsError("read the GC roots directory", this.#dir, error);
    }
    const pins: Pin[] = [];
    for (const name of names.sort()) {
      const pin = this.get(name);
      if (pin !== undefined) pins.push(pin);
    }
    return pins;
  }

  /** The pin called `name`, or undefined when it has no revisions (or is not a pin at all). */
  get(name: string): Pin | undefined {
    if (pinNameProblem(name) !== undefined) return undefined;
    const pinDir = join(this.#dir, name);
    let entries: string[];
    try {
      if (!lstatSync(pinDir).isDirectory()) return undefined;
      entries = readdirSync(pinDir);
    } catch (error) {
      if (isMissingFileError(error)) return undefined;
      throw this.#fsError("read the pin", pinDir, error);
    }
    const revisions: Revision[] = [];
    for (const entry of entries) {
      const parsed = parseRevisionLinkName(entry);
      if (parsed === undefined) continue;
      try {
        revisions.push({ ...parsed, storePath: readlinkSync(join(pinDir, entry)) });
      } catch {
        // Removed meanwhile, or not a symlink: not a revision.
      }
    }
    if (revisions.length === 0) return undefined;
    revisions.sort((a, b) => a.number - b.number);
    return { name, retention: this.#readRetention(pinDir), revisions };
  }

  /**
   * Adds a revision of pin `name` pointing at `storePath` (a logical store path that the
   * caller has checked is valid). `retention` replaces the pin's; when undefined, a new pin
   * keeps its revisions forever and an existing one keeps its retention.
   */
  pin(name: string, storePath: string, retention: Retention | undefined): Pin {
    const problem = pinNameProblem(name);
    if (problem !== undefined) throw new StorefrontError("bad_request", problem);
    const pinDir = join(this.#dir, name);
    try {
      mkdirSync(pinDir, { recursive: true });
      if (retention !== undefined || !this.#hasMetadata(pinDir)) {
        this.#writeRetention(pinDir, retention ?? FOREVER);
      }
      const existing = readdirSync(pinDir)
        .map((entry) => parseRevisionLinkName(entry)?.number ?? 0)
        .reduce((a, b) => Math.max(a, b), 0);
      const createdAt = this.#clock();
      // Another process may pin the same name at once: take the next free number.
      for (let number = existing + 1; ; number++) {
        try {
          symlinkSync(storePath, join(pinDir, revisionLinkName(number, createdAt)));
          break;
        } catch (error) {
          if ((error as { code?: string }).code !== "EEXIST") throw error;
        }
      }
    } catch (error) {
      throw this.#fsError("write the pin", pinDir, error);
    }
    const pin = this.get(name);
    if (pin === undefined) throw new StorefrontError("internal", `pin ${name} vanished`);
    return pin;
  }

  /** Removes pin `name` and all its roots; false when there was no such pin. */
  unpin(name: string): boolean {
    if (pinNameProblem(name) !== undefined) return false;
    const pinDir = join(this.#dir, name);
    const existed = this.get(name) !== undefined;
    try {
      rmSync(pinDir, { recursive: true, force: true });
    } catch (error) {
      throw this.#fsError("remove the pin", pinDir, error);
    }
    return existed;
  }

  /** Removes the revisions that their pin's retention no longer keeps, and emptied pins. */
  prune(): PrunedRevision[] {
    const now = this.#clock();
    const pruned: PrunedRevision[] = [];
    for (const pin of this.list()) {
      const pinDir = join(this.#dir, pin.name);
      const expired = expiredRevisions(pin, now);
      for (const revision of expired) {
        try {
          unlinkSync(join(pinDir, revisionLinkName(revision.number, revision.createdAt)));
          pruned.push({ pin: pin.name, revision });
        } catch (error) {
          if (!isMissingFileError(error)) throw this.#fsError("prune", pinDir, error);
        }
      }
      if (expired.length === pin.revisions.length) rmSync(pinDir, { recursive: true, force: true });
    }
    return pruned;
  }

  #hasMetadata(pinDir: string): boolean {
    try {
      lstatSync(join(pinDir, METADATA_FILE));
      return true;
    } catch {
      return false;
    }
  }

  /** A missing or damaged metadata file means "keep forever": never delete roots on a guess. */
  #readRetention(pinDir: string): Retention {
    try {
      const metadata = JSON.parse(readFileSync(join(pinDir, METADATA_FILE), "utf8")) as unknown;
      return parseRetention((metadata as { retention?: unknown } | null)?.retention) ?? FOREVER;
    } catch {
      return FOREVER;
    }
  }

  #writeRetention(pinDir: string, retention: Retention): void {
    // Written aside and renamed, so that a reader never sees half a file.
    const temporary = join(pinDir, `.${METADATA_FILE}.${process.pid}`);
    writeFileSync(temporary, JSON.stringify({ retention }) + "\n");
    renameSync(temporary, join(pinDir, METADATA_FILE));
  }

  #fsError(action: string, path: string, error: unknown): StorefrontError {
    if (error instanceof StorefrontError) return error;
    const code = (error as { code?: string }).code;
    const fix =
      code === "EACCES" || code === "EPERM" || code === "EROFS" ? "; or set [gcroots] dir" : "";
    return new StorefrontError(
      "internal",
      `cannot ${action} ${path}: ${fileErrorReason(error)}${fix}`,
      { cause: error },
    );
  }
}
