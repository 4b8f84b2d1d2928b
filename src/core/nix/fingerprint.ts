import type { PathInfo } from "./path-info.ts";

/**
 * The text Nix signs and checks for a path: `1;<path>;<narHash>;<narSize>;<refs,comma-separated>`,
 * with full reference paths, sorted.
 */
export function fingerprint(info: PathInfo): string {
  const references = [...info.references].sort().join(",");
  return `1;${info.storePath};${info.narHash};${info.narSize};${references}`;
}
