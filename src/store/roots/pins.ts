// Pinning as the CLI and the admin API offer it: a user's pin name is checked, the store path
// resolved to its logical form and confirmed valid in the store, then the roots are written.

import { pinNameProblem, userPinNameProblem } from "../../core/pins/pin-name.ts";
import type { Retention } from "../../core/pins/retention.ts";
import { logicalStorePath } from "../../core/nix/store-path-argument.ts";
import { StorefrontError } from "../../errors.ts";
import type { GcRoots, Pin, PrunedRevision } from "./gc-roots.ts";

export interface PathValidity {
  isValid(storePath: string): boolean;
}

export class PinService {
  readonly #roots: GcRoots;
  readonly #store: PathValidity;
  readonly #storeDir: string;
  readonly #realStoreDir: string;

  constructor(roots: GcRoots, store: PathValidity, storeDir: string, realStoreDir: string) {
    this.#roots = roots;
    this.#store = store;
    this.#storeDir = storeDir;
    this.#realStoreDir = realStoreDir;
  }

  get rootsDir(): string {
    return this.#roots.dir;
  }

  list(): Pin[] {
    return this.#roots.list();
  }

  get(name: string): Pin | undefined {
    return this.#roots.get(name);
  }

  /** Adds a revision; bad names are `bad_request`, paths not valid here `path_not_valid`. */
  pin(name: string, storePathText: string, retention: Retention | undefined): Pin {
    const problem = userPinNameProblem(name);
    if (problem !== undefined) throw new StorefrontError("bad_request", problem);
    const storePath = logicalStorePath(storePathText, this.#storeDir, this.#realStoreDir);
    if (storePath === undefined) {
      throw new StorefrontError(
        "path_not_valid",
        `"${storePathText}" is not a store path (${this.#storeDir}/<hash>-<name>)`,
      );
    }
    if (!this.#store.isValid(storePath)) {
      throw new StorefrontError("path_not_valid", `${storePath} is not a valid path in the store`);
    }
    this.#roots.ensureDir();
    return this.#roots.pin(name, storePath, retention);
  }

  /** Removes a pin (storefront's own `auto:` pins too); false when there was none. */
  unpin(name: string): boolean {
    const problem = pinNameProblem(name);
    if (problem !== undefined) throw new StorefrontError("bad_request", problem);
    return this.#roots.unpin(name);
  }

  prune(): PrunedRevision[] {
    return this.#roots.prune();
  }
}
