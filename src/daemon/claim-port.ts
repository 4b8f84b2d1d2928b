// A TCP address for several serving threads (`threads = N`) to bind with SO_REUSEPORT. With that
// option a port held by another server that set it too (a second storefront, say) would be
// shared silently rather than refused, and port 0 would be chosen once per thread. So the port
// is first bound alone, without the option: that fails, with the usual message, where any
// socket holds the address, and chooses the port for port 0; it is then released for the
// threads to bind together at once.

import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import type { ListenTarget } from "../config/listen-address.ts";
import { listen } from "../http/listen.ts";

export async function claimPort(target: ListenTarget): Promise<ListenTarget> {
  if (target.kind !== "tcp") return target;
  const probe = createServer();
  await listen(probe, target);
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    probe.close(() => {
      resolve();
    });
  });
  return { ...target, port };
}
