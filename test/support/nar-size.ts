// The NAR size of a tree described by its file sizes, as Nix's database would have it: for
// tests that serialise a tree on disk without a Nix to register it.

import { framedLength } from "../../src/core/nix/nar-framing.ts";

/** A tree as the NAR sees it: a regular file by its size, or a directory by its entries. */
export type Tree = number | { readonly [name: string]: Tree };

const word = (text: string): number => framedLength(Buffer.byteLength(text));
const words = (...texts: string[]): number => texts.reduce((n, text) => n + word(text), 0);

function nodeSize(tree: Tree): number {
  if (typeof tree === "number") {
    return words("(", "type", "regular", "contents") + framedLength(tree) + word(")");
  }
  let size = words("(", "type", "directory");
  for (const [name, child] of Object.entries(tree)) {
    size += words("entry", "(", "name", name, "node") + nodeSize(child) + word(")");
  }
  return size + word(")");
}

/** The NAR size of `tree` (entries in the order Nix sorts them). */
export function narSizeOf(tree: Tree): number {
  return word("nix-archive-1") + nodeSize(tree);
}
