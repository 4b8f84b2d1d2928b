// The HTML listing of a directory inside a store path. Every name is escaped for HTML and every
// link is percent-encoded from the name's bytes, so a file called `<script>` or `a"b` is shown
// as text and links to itself. Links are relative: the page is served at a URL ending in `/`.

import { escapeHtml } from "./html.ts";
import { encodeSegment } from "../serve-path.ts";

export interface DirectoryEntry {
  readonly name: Buffer;
  readonly kind: "directory" | "file" | "symlink";
  /** Bytes, for files. */
  readonly size?: number;
}

export interface DirectoryPage {
  /** What the page is of, e.g. `/nix/store/<hash>-<name>/sub`. */
  readonly title: string;
  /** False at the top of the store path: no link up out of it. */
  readonly hasParent: boolean;
  readonly entries: readonly DirectoryEntry[];
}

export function renderDirectoryPage(page: DirectoryPage): string {
  const entries = [...page.entries].sort((a, b) => Buffer.compare(a.name, b.name));
  const rows = entries.map((entry) => {
    const slash = entry.kind === "directory" ? "/" : "";
    const href = encodeSegment(entry.name) + slash;
    const label = escapeHtml(entry.name.toString("utf8")) + slash;
    const size = entry.size === undefined ? "" : String(entry.size);
    const note = entry.kind === "symlink" ? "symlink" : "";
    return `<tr><td><a href="${href}">${label}</a></td><td>${size}</td><td>${note}</td></tr>`;
  });
  if (page.hasParent) rows.unshift('<tr><td><a href="../">../</a></td><td></td><td></td></tr>');
  const title = escapeHtml(page.title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>body{font-family:sans-serif;margin:2rem}td{padding:0 1rem 0 0}td:nth-child(2){text-align:right}</style>
</head>
<body>
<h1>${title}</h1>
<table>
${rows.join("\n")}
</table>
</body>
</html>
`;
}
