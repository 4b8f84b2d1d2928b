// The upload routes, in the route table after the reading routes (a PUT on a URL that a GET
// route also matches falls through to these). Each needs a push token (refuse.ts).

import { parseDrvOutput } from "../../core/nix/realisation.ts";
import { parseNarHash32, isStoreBaseName } from "../../core/nix/store-path.ts";
import { StorefrontError } from "../../errors.ts";
import { NO_STORE, SHORT_LIVED, sendText } from "../respond.ts";
import type { RequestContext, Route } from "../router.ts";
import { NixDaemonError } from "../../nix-daemon/index.ts";
import { parseRealisationJson } from "../../nix-daemon/operations/realisations.ts";
import { decodedBody, readUploadBody } from "../../uploads/body.ts";
import { compressionOfExtension, contentDecoder } from "../../uploads/compression.ts";
import { putNarInfo } from "./upload-narinfo.ts";
import { countRefusal, refuse, uploadsOf } from "./upload-refusals.ts";

/** Listings, realisations and cache-info bodies are small; a build log may be large. */
const SMALL_BODY = 4 * 1024 * 1024;

function ok({ res }: RequestContext): void {
  res.writeHead(200, { "content-length": 0, "cache-control": NO_STORE });
  res.end();
}

async function putNar(context: RequestContext): Promise<void> {
  const { uploads } = uploadsOf(context);
  const fileHash = parseNarHash32(context.params[0] ?? "");
  const compression = compressionOfExtension(context.params[1] ?? "");
  if (fileHash === undefined) throw refuse(uploads, "malformed", "malformed hash in NAR URL");
  if (compression === undefined) throw refuse(uploads, "malformed", "unsupported compression");
  const max = context.services.config.push.max_nar_size;
  const declared = Number(context.req.headers["content-length"] ?? "0");
  if (declared > max) throw refuse(uploads, "too_large", `NAR upload of ${declared} bytes`);
  const decoder = contentDecoder(context.req.headers["content-encoding"]);
  if (decoder === undefined) throw refuse(uploads, "malformed", "unknown Content-Encoding");
  try {
    await uploads.staging.receive(decodedBody(context.req, decoder), fileHash, compression, max);
  } catch (error) {
    countRefusal(uploads, error);
  }
  ok(context);
}

async function putLog(context: RequestContext): Promise<void> {
  const { uploads } = uploadsOf(context);
  const drv = context.params[0] ?? "";
  if (!(isStoreBaseName(drv) && drv.endsWith(".drv"))) {
    throw refuse(uploads, "malformed", "malformed derivation name");
  }
  const decoder = contentDecoder(context.req.headers["content-encoding"]);
  if (decoder === undefined) throw refuse(uploads, "malformed", "unknown Content-Encoding");
  const drvPath = `${context.services.config.virtual_nix_store}/${drv}`;
  await daemonStep(uploads, () =>
    uploads.daemon.addBuildLog(drvPath, decodedBody(context.req, decoder)),
  );
  ok(context);
}

async function putRealisation(context: RequestContext): Promise<void> {
  const { uploads } = uploadsOf(context);
  const id = parseDrvOutput(context.params[0] ?? "");
  if (id === undefined) throw refuse(uploads, "malformed", "malformed derivation output");
  const body = (await readUploadBody(context.req, SMALL_BODY)).toString("utf8");
  let realisation;
  try {
    realisation = parseRealisationJson(body);
  } catch {
    throw refuse(uploads, "malformed", "realisation is not Nix's JSON");
  }
  if (realisation.id.drvHash !== id.drvHash || realisation.id.outputName !== id.outputName) {
    throw refuse(uploads, "mismatch", "realisation id differs from the URL");
  }
  await daemonStep(uploads, () => uploads.daemon.registerDrvOutput(realisation));
  ok(context);
}

async function putBuildTrace(context: RequestContext): Promise<void> {
  const { uploads } = uploadsOf(context);
  const storeDir = context.services.config.virtual_nix_store;
  const [drv = "", outputName = ""] = context.params;
  if (
    !(isStoreBaseName(drv) && drv.endsWith(".drv")) ||
    !/^[A-Za-z0-9+\-._?=]+$/.test(outputName)
  ) {
    throw refuse(uploads, "malformed", "malformed build trace URL");
  }
  const body = (await readUploadBody(context.req, SMALL_BODY)).toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw refuse(uploads, "malformed", "build trace entry is not JSON");
  }
  const entry = value as { outPath?: unknown; signatures?: unknown };
  const outPath = typeof entry.outPath === "string" ? entry.outPath : "";
  const signatures = Array.isArray(entry.signatures) ? entry.signatures : [];
  const outBase = outPath.startsWith(`${storeDir}/`) ? outPath.slice(storeDir.length + 1) : outPath;
  if (!isStoreBaseName(outBase) || !signatures.every((s) => typeof s === "string")) {
    throw refuse(uploads, "malformed", "build trace entry malformed");
  }
  await daemonStep(uploads, () =>
    uploads.daemon.registerBuildTrace({
      drvPath: `${storeDir}/${drv}`,
      outputName,
      outPath: `${storeDir}/${outBase}`,
      signatures: signatures,
    }),
  );
  ok(context);
}

async function getBuildTrace(context: RequestContext): Promise<void> {
  const uploads = context.services.uploads;
  const storeDir = context.services.config.virtual_nix_store;
  const [drv = "", outputName = ""] = context.params;
  if (!(isStoreBaseName(drv) && drv.endsWith(".drv"))) {
    throw new StorefrontError("bad_request", "malformed derivation name");
  }
  // Only a daemon of Nix 2.35 or later keeps realisations by derivation path.
  if (uploads === undefined || (await uploads.daemon.realisationForm()) !== "drv-path") {
    throw new StorefrontError("not_found", "no build trace");
  }
  const entry = await uploads.daemon.queryBuildTrace(`${storeDir}/${drv}`, outputName);
  if (entry === undefined) throw new StorefrontError("not_found", "no build trace");
  const outBase = entry.outPath.slice(entry.outPath.lastIndexOf("/") + 1);
  sendText(context.res, 200, JSON.stringify({ outPath: outBase, signatures: entry.signatures }), {
    "content-type": "application/json",
    "cache-control": SHORT_LIVED,
  });
}

/** Runs a daemon operation; the daemon's refusal is the client's 400, never a 500. */
async function daemonStep(
  uploads: Parameters<typeof refuse>[0],
  step: () => Promise<void>,
): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (
      error instanceof NixDaemonError &&
      (error.kind === "daemon" || error.kind === "unsupported")
    ) {
      throw refuse(uploads, "daemon", error.daemonMessage);
    }
    throw error;
  }
}

async function drainAndAccept(context: RequestContext): Promise<void> {
  uploadsOf(context);
  await readUploadBody(context.req, SMALL_BODY);
  ok(context);
}

export const uploadRoutes: readonly Route[] = [
  {
    name: "/nar/<filehash>.nar.<ext>",
    pattern: /^\/nar\/([^/.?-]{52})\.nar((?:\.[a-z0-9]{1,4})?)$/,
    // HEAD says whether the NAR need not be sent: only a registered path's NAR is "there"
    // (the GET routes answer for `.nar`); an upload staged but not yet registered is not, so
    // that a narinfo PUT never counts on a staged file that another one may claim or the sweep
    // remove. Nix then sends the NAR again, which costs bandwidth, never a failed push.
    methods: ["PUT", "HEAD"],
    scope: "push",
    handle: (context) => {
      if (context.req.method === "HEAD") throw new StorefrontError("not_found", "not registered");
      return putNar(context);
    },
  },
  {
    name: "/<hash>.narinfo",
    pattern: /^\/([^/.]{32})\.narinfo$/,
    methods: ["PUT"],
    scope: "push",
    handle: putNarInfo,
  },
  {
    name: "/<hash>.ls",
    pattern: /^\/([^/.]{32})\.ls$/,
    methods: ["PUT"],
    scope: "push",
    // storefront makes its own listings from the store: an uploaded one is accepted and dropped.
    handle: drainAndAccept,
  },
  {
    name: "/log/<drv>",
    pattern: /^\/log\/([^/]*)$/,
    methods: ["PUT"],
    scope: "push",
    handle: putLog,
  },
  {
    name: "/realisations/<id>.doi",
    pattern: /^\/realisations\/([^/]*)\.doi$/,
    methods: ["PUT"],
    scope: "push",
    handle: putRealisation,
  },
  {
    name: "/build-trace-v2/<drv>/<output>.doi",
    pattern: /^\/build-trace-v2\/([^/]+)\/([^/]+)\.doi$/,
    methods: ["GET"],
    scope: "read",
    handle: getBuildTrace,
  },
  {
    name: "/build-trace-v2/<drv>/<output>.doi",
    pattern: /^\/build-trace-v2\/([^/]+)\/([^/]+)\.doi$/,
    methods: ["PUT"],
    scope: "push",
    handle: putBuildTrace,
  },
  {
    name: "/nix-cache-info",
    pattern: /^\/nix-cache-info$/,
    methods: ["PUT"],
    scope: "push",
    // Nix PUTs one only when GET said 404, which ours never does; the cache's settings are
    // storefront's own, so a pushed one is accepted and changes nothing.
    handle: drainAndAccept,
  },
];
