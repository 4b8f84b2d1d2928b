// `PUT /<hash>.narinfo`: the step that lands a path in the store, top to bottom: parse the
// narinfo strictly, claim the NAR staged for it, check the two against each other, the URL, the
// store (references) and the trusted keys, hand the NAR to the Nix daemon, make the path
// visible at once, record the push; the staged NAR is removed in the `finally`, whatever
// happened, and before the answer.

import { parseStoreHash } from "../../core/nix/store-path.ts";
import type { RequestContext } from "../router.ts";
import { NixDaemonError } from "../../nix-daemon/index.ts";
import { readUploadBody } from "../../uploads/body.ts";
import { readStaged } from "../../uploads/staging.ts";
import { MAX_NARINFO_SIZE, parsePushedNarInfo } from "../../uploads/narinfo-upload.ts";
import { refuse, uploadsOf } from "./upload-refusals.ts";
import { fileHashOfUrl, mismatch, signedByTrustedKey } from "../../uploads/verify.ts";

export async function putNarInfo(context: RequestContext): Promise<void> {
  const { uploads, token } = uploadsOf(context);
  const { config, store, narInfoCache, log } = context.services;
  const storeDir = config.virtual_nix_store;
  const urlHash = parseStoreHash(context.params[0] ?? "");
  if (urlHash === undefined) throw refuse(uploads, "malformed", "malformed hash in the URL");
  const body = await readUploadBody(context.req, MAX_NARINFO_SIZE);
  const parsed = parsePushedNarInfo(body.toString("utf8"), storeDir);
  if (!parsed.ok) throw refuse(uploads, "malformed", `narinfo: ${parsed.reason}`);
  const info = parsed.info;
  const fileHash = fileHashOfUrl(info);
  if (fileHash === undefined) throw refuse(uploads, "malformed", "narinfo URL or Compression");

  const claimed = await uploads.staging.claim(fileHash);
  try {
    // Already there (pushed before, or by another route): nothing to do, and nothing to check
    // against an upload, which Nix may have skipped.
    if (store.pathInfo(urlHash)?.storePath === info.storePath) return;
    if (claimed === undefined) throw refuse(uploads, "mismatch", "no NAR uploaded for it");
    const problem = mismatch(info, urlHash, storeDir, claimed.staged);
    if (problem !== undefined) throw refuse(uploads, "mismatch", problem);
    for (const reference of info.references) {
      if (reference === info.storePath) continue;
      const hash = parseStoreHash(reference.slice(storeDir.length + 1, storeDir.length + 33));
      if (hash === undefined || store.pathInfo(hash)?.storePath !== reference) {
        throw refuse(uploads, "missing_reference", `reference ${reference} is not valid`);
      }
    }
    const trustedKeys = config.push.trusted_keys;
    if (trustedKeys.length > 0 && info.ca === undefined && !signedByTrustedKey(info, trustedKeys)) {
      throw refuse(uploads, "signature", "no valid signature by a trusted key");
    }
    try {
      await uploads.daemon.addToStoreNar(
        {
          storePath: info.storePath,
          deriver: info.deriver,
          narHash: info.narHash,
          narSize: info.narSize,
          references: info.references,
          signatures: info.signatures,
          ca: info.ca,
          // Checked above when trusted_keys is set; the daemon honours this only for its
          // trusted users, and checks its own trusted-public-keys for everyone else.
          dontCheckSigs: true,
        },
        readStaged(claimed.narPath),
      );
    } catch (error) {
      if (error instanceof NixDaemonError && error.kind === "daemon") {
        throw refuse(uploads, "daemon", `the Nix daemon refused: ${error.daemonMessage}`);
      }
      throw error;
    }
    // The database watch clears the cache too, but later: Nix asks for this narinfo (as a
    // reference of the next path) as soon as this PUT is answered.
    narInfoCache.invalidate();
    uploads.record.pushed({ token, path: info.storePath, hash: urlHash, narSize: info.narSize });
    log.info("path pushed", { path: info.storePath, narSize: info.narSize, token });
    uploads.landed();
  } finally {
    await claimed?.release();
  }
  // Answered only once the staged NAR is gone: Nix may end the moment it reads the answer, and
  // what it pushed must then have left nothing behind.
  reply(context);
}

function reply({ res }: RequestContext): void {
  res.writeHead(200, { "content-length": 0, "cache-control": "no-store" });
  res.end();
}
