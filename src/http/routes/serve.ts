// `/serve/<hash>-<name>/<path>`: the files of a store path for a browser: files with a content
// type, directories as an HTML listing (or their index.html), symlinks followed while they
// stay inside the store. For a built website or documentation, straight from the store.

import { sendStreamed, wantsBody } from "../answer.ts";
import { contentTypeFor } from "../content-type.ts";
import { renderDirectoryPage } from "../../core/pages/directory-page.ts";
import { encodeSegment, parseServePath } from "../../core/serve-path.ts";
import { isStoreBaseName, parseStoreHash } from "../../core/nix/store-path.ts";
import { StorefrontError } from "../../errors.ts";
import { openFile } from "../../store/files/open-file.ts";
import { readDirectory, resolveInStore, type StoreFile } from "../../store/files/store-files.ts";
import { storeDirsOf } from "../../store/nar/valid-path.ts";
import { IMMUTABLE, SHORT_LIVED, sendChunks, sendText } from "../respond.ts";
import type { RequestContext, Route } from "../router.ts";
import type { PathInfoSource } from "../services.ts";

const INDEX = Buffer.from("index.html");

/** What /serve uses. */
type Uses = "config" | "store" | "streams" | "lastUse";

export const serveRoute: Route<Uses> = {
  name: "/serve/<hash>-<name>/<path>",
  pattern: /^\/serve\/([^/]*)(\/.*)?$/,
  methods: ["GET"],
  scope: "read",
  handle: async (context) => {
    const { params, services } = context;
    const baseName = params[0] ?? "";
    const path = parseServePath(params[1] ?? "");
    if (!isStoreBaseName(baseName) || path === undefined) {
      throw new StorefrontError("bad_request", "malformed /serve URL");
    }
    const dirs = storeDirsOf(services.config);
    const isValidPath = validPathCheck(services.store, dirs.virtual);
    if (!isValidPath(baseName)) throw new StorefrontError("not_found", `no valid path ${baseName}`);
    const names = [Buffer.from(baseName), ...path.segments];
    const found = await resolveInStore(dirs, names, isValidPath);
    if (found === undefined) throw new StorefrontError("not_found", "nothing there in the store");
    // A file or page of the path that is answered is a use of it (a HEAD is not).
    if (wantsBody(context.req)) services.lastUse?.used(baseName.slice(0, 32));
    if (found.stats.isFile() && !path.trailingSlash) {
      await sendFile(context, found);
      return;
    }
    if (!found.stats.isDirectory()) throw new StorefrontError("not_found", "not a directory");
    if (!path.trailingSlash) {
      // Relative links on the page need the URL to end in `/`; a relative Location keeps any
      // prefix a proxy put in front of ours.
      const last = names[names.length - 1] ?? INDEX;
      sendText(context.res, 301, "moved\n", {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": SHORT_LIVED,
        location: `${encodeSegment(last)}/`,
      });
      return;
    }
    const index = await resolveInStore(dirs, [...names, INDEX], isValidPath);
    if (index?.stats.isFile() === true) {
      await sendFile(context, index);
      return;
    }
    const page = renderDirectoryPage({
      title: [dirs.virtual, baseName, ...path.segments.map((name) => name.toString("utf8"))].join(
        "/",
      ),
      hasParent: path.segments.length > 0,
      entries: await readDirectory(found.realPath),
    });
    sendText(context.res, 200, page, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": IMMUTABLE,
    });
  },
};

function validPathCheck(store: PathInfoSource, storeDir: string): (baseName: string) => boolean {
  return (baseName) => {
    const hash = parseStoreHash(baseName.slice(0, 32));
    return hash !== undefined && store.pathNar(hash)?.storePath === `${storeDir}/${baseName}`;
  };
}

/** A file's contents, in a slot among the streams. */
function sendFile({ res, services }: RequestContext<Uses>, found: StoreFile): Promise<void> {
  return sendStreamed(res, services.streams, async (reply) => {
    const file = await openFile(found.realPath);
    try {
      await reply({
        status: 200,
        headers: {
          "content-type": contentTypeFor(found.name.toString("latin1")),
          "content-length": file.size,
          // A store path never changes; when it is collected, the answer becomes a 404.
          "cache-control": IMMUTABLE,
          "x-content-type-options": "nosniff",
        },
        body: () => sendChunks(res, file.chunks()),
      });
    } finally {
      await file.close();
    }
  });
}
