// `/<hash>.ls`: the JSON listing of a store path's files, as `nix store ls --json --recursive`
// prints it, for tools that browse a cache without downloading NARs.

import { renderListing } from "../../core/nix/nar-listing.ts";
import { narHashDigest } from "../../core/nix/path-info.ts";
import { readListing } from "../../store/nar/file-listing.ts";
import type { ValidPathOnDisk } from "../../store/nar/valid-path.ts";
import { sendStreamed, type Reply } from "../answer.ts";
import { chooseEncoding, encodedHeaders, writeEncoded } from "../compression.ts";
import { hashEtag } from "../etag.ts";
import type { RequestContext, Route } from "../router.ts";
import { answeredNotModified, validPathOfHash } from "../store-path-body.ts";

/** What the listing uses. */
type Uses = "config" | "store" | "streams";

export const listingRoute: Route<Uses> = {
  name: "/<hash>.ls",
  pattern: /^\/([^/]*)\.ls$/,
  methods: ["GET"],
  scope: "read",
  handle: async (context) => {
    // Checked first: a bad hash or a missing path is answered at once, slots or none.
    const path = validPathOfHash(context.params[0] ?? "", context.services);
    // A listing can run to megabytes (a package with many files), held until it is sent: a
    // body takes a slot among the streams, as a NAR does.
    await sendStreamed(context.res, context.services.streams, (reply) =>
      sendListing(context, path, reply),
    );
  },
};

async function sendListing(
  { req, res, services: { config } }: RequestContext<Uses>,
  path: ValidPathOnDisk,
  reply: Reply,
): Promise<void> {
  const body = Buffer.from(renderListing(await readListing(Buffer.from(path.realPath))));
  // Large listings are compressed.
  const encoding = chooseEncoding(req, config, body.length);
  const etag = hashEtag(narHashDigest(path.info.narHash), encoding, "ls");
  if (answeredNotModified(req, res, config, etag)) return;
  res.setHeader("content-type", "application/json");
  await (encoding === undefined
    ? reply({ status: 200, headers: { "content-length": body.length }, body })
    : reply({
        status: 200,
        headers: encodedHeaders(encoding),
        body: async () => {
          await writeEncoded(res, [body], encoding, config);
        },
      }));
}
