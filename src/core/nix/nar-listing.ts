// The `.ls` listing of a store path: `{"version":1,"root":<node>}`, byte for byte as Nix writes
// it into a binary cache (`write-nar-listing`): a regular file has `size`, `executable: true`
// only when set, and `narOffset`, where its contents start in the path's NAR (a client holding
// the NAR reads one file from there). `nix store ls --json --recursive` prints the same nodes,
// without `narOffset` for a local store and with it for a binary cache.
//
// Names and symlink targets are bytes. JSON text is Unicode, so bytes that are not UTF-8 are
// shown as U+FFFD, which is also what any UTF-8 decoder makes of Nix's own output (Nix writes
// such bytes raw, which is not valid JSON). Two names that differ only in such bytes then show
// as one key; a listing cannot say more without leaving JSON.

export type ListingNode =
  | {
      readonly type: "regular";
      readonly size: number;
      readonly executable: boolean;
      /** Where the contents start in the NAR. */
      readonly narOffset: number;
    }
  | { readonly type: "symlink"; readonly target: Buffer }
  | { readonly type: "directory"; readonly entries: readonly ListingEntry[] };

export interface ListingEntry {
  readonly name: Buffer;
  readonly node: ListingNode;
}

/** The `.ls` document for a tree whose root is `root`. */
export function renderListing(root: ListingNode): string {
  const parts: string[] = ['{"version":1,"root":'];
  renderNode(root, parts);
  parts.push("}");
  return parts.join("");
}

/** One node as Nix's JSON prints it, keys in its order; entries sorted by their bytes. */
function renderNode(node: ListingNode, parts: string[]): void {
  switch (node.type) {
    case "regular":
      parts.push(
        `{"type":"regular","size":${node.size}`,
        node.executable ? ',"executable":true' : "",
        `,"narOffset":${node.narOffset}}`,
      );
      return;
    case "symlink":
      parts.push('{"type":"symlink","target":', jsonString(node.target), "}");
      return;
    case "directory": {
      parts.push('{"type":"directory","entries":{');
      const entries = [...node.entries].sort((a, b) => Buffer.compare(a.name, b.name));
      entries.forEach((entry, index) => {
        if (index > 0) parts.push(",");
        parts.push(jsonString(entry.name), ":");
        renderNode(entry.node, parts);
      });
      parts.push("}}");
      return;
    }
    default: {
      const unhandled: never = node;
      return unhandled;
    }
  }
}

// JSON.stringify escapes as nlohmann::json does: `"`, `\`, and control characters (with the
// short forms \b \f \n \r \t), everything else as UTF-8.
function jsonString(bytes: Buffer): string {
  return JSON.stringify(bytes.toString("utf8"));
}
