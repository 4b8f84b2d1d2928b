// The file system a directory is on, by name: first downloads write storefront's NAR cache, and
// a tmpfs makes them faster than a server's real disk would.

import { statfsSync } from "node:fs";

/** statfs(2)'s f_type of the file systems a benchmark machine is likely to have. */
const NAMES: Readonly<Record<number, string>> = {
  0x01021994: "tmpfs",
  0xef53: "ext4",
  0x58465342: "xfs",
  0x9123683e: "btrfs",
  0x794c7630: "overlayfs",
  0x2fc12fc1: "zfs",
  0x6969: "nfs",
};

export function filesystemOf(dir: string): string {
  const type = statfsSync(dir).type;
  return NAMES[type] ?? `file system 0x${type.toString(16)}`;
}
