// The served set: one bit per ValidPaths.id. Nix's ids are small, dense and never reused, so a
// bitmap answers "is this row served" in O(1) with maxId/8 bytes (125 kB for a million paths),
// where a Set of numbers or of hash strings would take tens of bytes per path.

export class IdSet {
  #bits = new Uint8Array(1024);
  #size = 0;

  /** How many ids are in the set. */
  get size(): number {
    return this.#size;
  }

  has(id: number): boolean {
    const byte = id >>> 3;
    return byte < this.#bits.length && ((this.#bits[byte] ?? 0) & (1 << (id & 7))) !== 0;
  }

  /** Adds `id`; true when it was not in the set before. */
  add(id: number): boolean {
    const byte = id >>> 3;
    if (byte >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    const mask = 1 << (id & 7);
    const before = this.#bits[byte] ?? 0;
    if ((before & mask) !== 0) return false;
    this.#bits[byte] = before | mask;
    this.#size++;
    return true;
  }

  /** Bytes held by the bitmap, for the figures in bench/. */
  get byteLength(): number {
    return this.#bits.byteLength;
  }
}
