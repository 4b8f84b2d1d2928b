// Signed narinfos by store hash, as the bytes to send, so that a narinfo asked for again costs
// neither the queries nor the signing, nor encoding the text again. Any change to Nix's database clears it (the watcher calls
// `invalidate`): changes are rare next to reads, and clearing on every one is simply correct
// for paths added, collected or re-signed. Misses are never kept, so a pushed path appears at
// once. A generation number keeps a narinfo rendered before a change from being stored after it.

/** Enough for the hot set of a busy cache; a narinfo text is about 1 KiB. */
const NARINFO_CACHE_ENTRIES = 8192;

export class NarInfoCache {
  readonly #capacity: number;
  // A Map iterates in insertion order: the first key is the least recently used.
  readonly #texts = new Map<string, Buffer>();
  #generation = 0;

  constructor(capacity = NARINFO_CACHE_ENTRIES) {
    this.#capacity = capacity;
  }

  get(hash: string): Buffer | undefined {
    const text = this.#texts.get(hash);
    if (text !== undefined) {
      this.#texts.delete(hash);
      this.#texts.set(hash, text);
    }
    return text;
  }

  /** Take this before reading the store, and give it back to `set`. */
  get generation(): number {
    return this.#generation;
  }

  set(hash: string, text: Buffer, generation: number): void {
    if (generation !== this.#generation) return;
    this.#texts.delete(hash);
    this.#texts.set(hash, text);
    if (this.#texts.size > this.#capacity) {
      const oldest = this.#texts.keys().next();
      if (oldest.done !== true) this.#texts.delete(oldest.value);
    }
  }

  invalidate(): void {
    this.#generation++;
    this.#texts.clear();
  }

  get size(): number {
    return this.#texts.size;
  }
}
