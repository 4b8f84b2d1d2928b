// NARs, made on the fly from the store path's files, under the three URL forms in use:
//   nar/<narhash>.nar?hash=<outhash>   harmonia, and what our narinfos say
//   nar/<outhash>-<narhash>.nar        nix-serve
//   nar/<outhash>.nar                  older nix-serve
// A client that switched from either server keeps working with the URLs it has cached.

import { narHashDigest } from "../../core/nix/path-info.ts";
import { parseNarHash32, parseStoreHash } from "../../core/nix/store-path.ts";
import { StorefrontError } from "../../errors.ts";
import { storeDirsOf, validPathOnDisk } from "../../store/nar/valid-path.ts";
import { sendStreamed, wantsBody } from "../answer.ts";
import { sendNar, type NarResponseUses } from "../nar-response.ts";
import type { RequestContext, Route } from "../router.ts";

/** What the NAR routes use. */
type Uses = NarResponseUses | "store" | "metrics" | "streams" | "lastUse";

async function serveNar(
  context: RequestContext<Uses>,
  outHashText: string,
  narHashText: string | undefined,
): Promise<void> {
  const outHash = parseStoreHash(outHashText);
  const narHash = narHashText === undefined ? undefined : parseNarHash32(narHashText);
  if (outHash === undefined || (narHashText !== undefined && narHash === undefined)) {
    throw new StorefrontError("bad_request", "malformed hash in NAR URL");
  }
  const { config, store } = context.services;
  const onDisk = validPathOnDisk(store, storeDirsOf(config), outHash);
  const { info } = onDisk;
  if (narHash !== undefined && narHashDigest(info.narHash) !== narHash) {
    throw new StorefrontError("not_found", `${outHash} has another NAR hash`);
  }
  const { metrics, streams, lastUse } = context.services;
  await sendStreamed(context.res, streams, async (reply) => {
    // A download that starts is a use of the path (a HEAD is not).
    if (wantsBody(context.req)) lastUse?.used(outHash);
    metrics.narStreamsInFlight.inc();
    try {
      await sendNar(context, onDisk, reply);
    } finally {
      metrics.narStreamsInFlight.dec();
    }
  });
}

export const narRoutes: readonly Route<Uses>[] = [
  {
    name: "/nar/<narhash>.nar",
    pattern: /^\/nar\/([^/.?-]{52})\.nar$/,
    methods: ["GET"],
    scope: "read",
    handle: (context) => {
      const outHash = context.query.get("hash");
      if (outHash === null) throw new StorefrontError("not_found", "NAR URL without ?hash=");
      return serveNar(context, outHash, context.params[0]);
    },
  },
  {
    name: "/nar/<outhash>-<narhash>.nar",
    pattern: /^\/nar\/([^/.?-]{32})-([^/.?-]{52})\.nar$/,
    methods: ["GET"],
    scope: "read",
    handle: (context) => serveNar(context, context.params[0] ?? "", context.params[1]),
  },
  {
    name: "/nar/<outhash>.nar",
    pattern: /^\/nar\/([^/.?-]{32})\.nar$/,
    methods: ["GET"],
    scope: "read",
    handle: (context) => serveNar(context, context.params[0] ?? "", undefined),
  },
];
