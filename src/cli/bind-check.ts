// What `serve --check-config` can tell about the listen addresses without listening on them
// (the port may well be taken by the very daemon that the checked config is to replace): a
// host that does not resolve, an address that is not this machine's, a unix socket's missing
// directory. The messages are the ones `serve` gives when listening fails.

import { lookup } from "node:dns/promises";
import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { dirname } from "node:path";
import { ConfigError } from "../errors.ts";
import type { Config } from "../config/config.ts";
import type { ListenAddress } from "../config/listen-address.ts";
import { listenErrorMessage } from "../http/listen.ts";

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Whether Linux lets a process bind addresses it does not have (net.ipv4.ip_nonlocal_bind). */
function nonLocalBindAllowed(family: 4 | 6): boolean {
  const file = `/proc/sys/net/ipv${family}/ip_nonlocal_bind`;
  try {
    return readFileSync(file, "utf8").trim() === "1";
  } catch {
    return false;
  }
}

/** Whether this machine may listen on IP address `ip`. */
function isLocalAddress(ip: string): boolean {
  const family = isIP(ip) === 6 ? 6 : 4;
  const address = ip.toLowerCase().replace(/%.*$/, "");
  // Wildcards, and the whole of 127.0.0.0/8, which Linux routes to the loopback interface.
  if (address === "0.0.0.0" || address === "::" || address.startsWith("127.")) return true;
  if (nonLocalBindAllowed(family)) return true;
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((entry) => entry.address.toLowerCase().replace(/%.*$/, "") === address),
  );
}

async function checkAddress(address: ListenAddress, key: string): Promise<void> {
  if (address.kind === "unix") {
    // A directory that is there but not writable shows only when listening.
    if (!isDirectory(dirname(address.path))) {
      throw new ConfigError(listenErrorMessage(address, key, "ENOENT"));
    }
    return;
  }
  let ip = address.host;
  if (isIP(ip) === 0) {
    try {
      ip = (await lookup(address.host)).address;
    } catch (error) {
      const code = (error as { code?: string }).code ?? "ENOTFOUND";
      throw new ConfigError(listenErrorMessage(address, key, code));
    }
  }
  if (!isLocalAddress(ip)) throw new ConfigError(listenErrorMessage(address, key, "EADDRNOTAVAIL"));
}

/** Checks `bind` and `[metrics] bind` as far as that can be done without listening. */
export async function checkListenAddresses(config: Config): Promise<void> {
  await checkAddress(config.listen, "bind");
  if (config.metricsListen !== undefined) await checkAddress(config.metricsListen, "metrics.bind");
}
