// Push: a real Nix 2.8 copies a closure to storefront over HTTP (`nix copy --to http://...`,
// credentials from a netrc file) and the paths land, registered by a real nix-daemon, in the
// store storefront serves; refusals leave the store and the staging directory as they were.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNixBase32 } from "../../src/core/nix/nix-base32.ts";
import { parseStoreHash } from "../../src/core/nix/store-path.ts";
import type { PathInfo } from "../../src/core/nix/path-info.ts";
import { StoreDatabase } from "../../src/store/db/database.ts";
import type { PushRecordEntry } from "../../src/state/records.ts";
import { StateDatabase } from "../../src/state/state-database.ts";
import {
  baseNameOf,
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  STORE_NIX,
  type TestStore,
  nixCopyTo,
} from "../support/nix.ts";
import { startNixDaemon, type TestDaemon } from "../support/nix-daemon.ts";
import { parseMetrics, sumOf } from "../support/metrics.ts";
import { generateKey, startServer, type RunningServer } from "../support/server.ts";
import { waitFor, waitForValue } from "../support/wait.ts";
import { tempDir } from "../support/temp.ts";

const TOKEN = "push-token-0123456789abcdef";
const ATTRIBUTES = ["app", "lib", "tree", "topFile", "topExe", "topSymlink", "big"];

function pathInfoIn(store: TestStore, storePath: string): PathInfo | undefined {
  const database = new StoreDatabase(store.dbPath, "/nix/store");
  try {
    const hash = parseStoreHash(baseNameOf(storePath).slice(0, 32));
    return hash === undefined ? undefined : database.pathInfo(hash);
  } finally {
    database.close();
  }
}

function narHashIn(store: TestStore, storePath: string): string | undefined {
  return pathInfoIn(store, storePath)?.narHash;
}

/** The path's NAR as Nix makes it (small paths only: it is held whole). */
function narOf(store: TestStore, storePath: string): Buffer {
  return spawnSync("nix-store", ["--dump", store.realPath(storePath)], { maxBuffer: 1 << 28 })
    .stdout;
}

/** The narinfo Nix would PUT for an uncompressed upload of `info`. */
function narInfoText(info: PathInfo, changes: Partial<PathInfo> = {}): string {
  const { storePath, narHash, narSize, references } = { ...info, ...changes };
  const digest = narHash.slice("sha256:".length);
  return (
    `StorePath: ${storePath}\nURL: nar/${digest}.nar\nCompression: none\n` +
    `FileHash: ${narHash}\nFileSize: ${narSize}\nNarHash: ${narHash}\nNarSize: ${narSize}\n` +
    `References: ${references.map(baseNameOf).join(" ")}\n`
  );
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request; `cutAfter` bytes of the body sent, then the connection is cut. */
function send(
  url: string,
  method: string,
  body: Buffer,
  headers: Record<string, string> = {},
  cutAfter?: number,
): Promise<Answer | "cut"> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      headers: { "content-length": String(body.length), ...headers },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    if (cutAfter === undefined) {
      req.on("error", reject);
      req.end(body);
      return;
    }
    req.on("error", () => {
      resolve("cut");
    });
    req.write(body.subarray(0, cutAfter), () => {
      setTimeout(() => {
        req.destroy();
        resolve("cut");
      }, 200);
    });
  });
}

describe.skipIf(!hasNix)("nix copy --to storefront (push)", () => {
  let source: TestStore;
  let paths: string[];
  let outputs: string[];
  let drvs: string[];
  let daemon: TestDaemon;
  let server: RunningServer;
  let work: string;
  let netrc: string;
  let wrongNetrc: string;
  let publicKey: string;
  const byAttribute = new Map<string, string>();
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    source = makeTestStore("storefront-push-source-");
    const built = nixBuild(source, STORE_NIX, ATTRIBUTES);
    // The derivations too: content-addressed (text) paths.
    const derivers = [...built.values()].map((path) =>
      spawnSync("nix-store", ["--store", source.root, "-q", "--deriver", path], {
        encoding: "utf8",
      }).stdout.trim(),
    );
    outputs = [...built.values()];
    for (const [attribute, path] of built) byAttribute.set(attribute, path);
    drvs = derivers;
    paths = [...outputs, ...drvs];
    daemon = await startNixDaemon();
    work = tempDir("storefront-push-");
    writeFileSync(join(work, "token"), TOKEN, { mode: 0o600 });
    netrc = join(work, "netrc");
    writeFileSync(netrc, `machine 127.0.0.1 login ci password ${TOKEN}\n`);
    wrongNetrc = join(work, "wrong-netrc");
    writeFileSync(wrongNetrc, `machine 127.0.0.1 login ci password not-the-token-at-all\n`);
    const key = await generateKey(work, "push-test-1");
    publicKey = readFileSync(key.public, "utf8").trim();
    server = await startServer(
      work,
      `bind = "127.0.0.1:0"\n${daemon.store.configLine}sign_key_paths = ["${key.secret}"]\n` +
        `daemon_socket = "${daemon.socketPath}"\nstate_dir = "${join(work, "state")}"\n` +
        `admin_token_paths = ["${join(work, "token")}"]\n[push]\nenable = true\n`,
    );
  }, 300_000);

  afterAll(async () => {
    await server.stop();
    await daemon.stop();
    source.remove();
  });

  function push(
    compression: string,
    netrcFile: string,
    storePaths: string[],
    extra: string[] = [],
  ): ReturnType<typeof nixCopyTo> {
    return nixCopyTo(
      source.root,
      `${server.url}?compression=${compression}`,
      netrcFile,
      storePaths,
      join(work, `cache-${compression}-${String(Math.random()).slice(2)}`),
      extra,
    );
  }

  const staged = (): string[] => readdirSync(join(work, "state", "uploads"));
  /** The pushes recorded in the state database, oldest first. */
  const recordedPushes = (): PushRecordEntry[] => {
    const state = new StateDatabase(join(work, "state"), { busyTimeoutMs: 5000 });
    try {
      return state.recentPushes(1000).reverse();
    } finally {
      state.close();
    }
  };

  it("refuses a push without a token, or with a wrong one, and lands nothing", () => {
    const topFile = paths[3] ?? "";
    for (const file of [join(work, "no-netrc"), wrongNetrc]) {
      const result = push("xz", file, [topFile]);
      expect(result.status).not.toBe(0);
      expect(narHashIn(daemon.store, topFile)).toBeUndefined();
      expect(staged()).toEqual([]);
    }
  });

  it("refuses a NAR that does not match its narinfo, a missing reference, a cut-off upload", async () => {
    const topExe = pathInfoIn(source, byAttribute.get("topExe") ?? "");
    const lib = pathInfoIn(source, byAttribute.get("lib") ?? "");
    if (topExe === undefined || lib === undefined) throw new Error("fixture not built");
    const narUrl = (info: PathInfo): string =>
      `${server.url}/nar/${info.narHash.slice("sha256:".length)}.nar`;
    const narInfoUrl = (info: PathInfo): string =>
      `${server.url}/${baseNameOf(info.storePath).slice(0, 32)}.narinfo`;

    // A NAR whose bytes do not hash to its URL.
    const wrongBytes = Buffer.from(narOf(source, topExe.storePath));
    const flipped = wrongBytes.length - 20;
    wrongBytes.writeUInt8(wrongBytes.readUInt8(flipped) ^ 1, flipped);
    expect(await send(narUrl(topExe), "PUT", wrongBytes, auth)).toMatchObject({ status: 400 });
    expect(staged()).toEqual([]);

    // The NAR arrives whole; its narinfo says another size: refused, and the upload is gone.
    const nar = narOf(source, topExe.storePath);
    expect(await send(narUrl(topExe), "PUT", nar, auth)).toMatchObject({ status: 200 });
    expect(staged().length).toBe(2);
    const lying = Buffer.from(narInfoText(topExe, { narSize: topExe.narSize + 8 }));
    expect(await send(narInfoUrl(topExe), "PUT", lying, auth)).toMatchObject({ status: 400 });
    expect(staged()).toEqual([]);
    expect(narHashIn(daemon.store, topExe.storePath)).toBeUndefined();

    // A narinfo whose reference is not in the store.
    expect(await send(narUrl(lib), "PUT", narOf(source, lib.storePath), auth)).toMatchObject({
      status: 200,
    });
    const libInfo = Buffer.from(narInfoText(lib));
    expect(await send(narInfoUrl(lib), "PUT", libInfo, auth)).toMatchObject({ status: 422 });
    expect(staged()).toEqual([]);
    expect(narHashIn(daemon.store, lib.storePath)).toBeUndefined();

    // Without a token, nothing is read or written.
    expect(await send(narUrl(topExe), "PUT", nar)).toMatchObject({ status: 401 });

    // An upload cut off half way.
    const big = Buffer.alloc(8 << 20, 7);
    const bigUrl = `${server.url}/nar/${encodeNixBase32(createHash("sha256").update(big).digest())}.nar`;
    expect(await send(bigUrl, "PUT", big, auth, big.length / 2)).toBe("cut");
    await waitFor(() => staged().length === 0, "the cut-off upload to be removed");

    // Bytes that hash to their URL but are no zstd stream: received whole, refused once decoded
    // (compressed uploads are decoded from disk after they arrive), and nothing is left.
    const junk = Buffer.from("not a zstd stream at all, only bytes");
    const junkHash = encodeNixBase32(createHash("sha256").update(junk).digest());
    const junkUrl = `${server.url}/nar/${junkHash}.nar.zst`;
    expect(await send(junkUrl, "PUT", junk, auth)).toMatchObject({ status: 400 });
    expect(staged()).toEqual([]);

    // The same NAR with a true narinfo, sent gzip-encoded as newer Nix may: it lands, and its
    // narinfo is served as soon as the PUT is answered.
    expect(await send(narUrl(topExe), "PUT", nar, auth)).toMatchObject({ status: 200 });
    const encoded = gzipSync(Buffer.from(narInfoText(topExe)));
    expect(
      await send(narInfoUrl(topExe), "PUT", encoded, { ...auth, "content-encoding": "gzip" }),
    ).toMatchObject({ status: 200 });
    expect((await fetch(narInfoUrl(topExe))).status).toBe(200);
    expect(narHashIn(daemon.store, topExe.storePath)).toBe(topExe.narHash);
    expect(staged()).toEqual([]);

    const metrics = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
    expect(sumOf(metrics, "storefront_push_refused_total", { reason: "mismatch" })).toBe(2);
    expect(sumOf(metrics, "storefront_push_refused_total", { reason: "missing_reference" })).toBe(
      1,
    );
    // Refused before any upload route ran: counted with the other failed authentications.
    expect(sumOf(metrics, "storefront_auth_failures_total", {})).toBeGreaterThan(0);
  });

  it("lands a closure with every shape of path (xz, zstd, none), same NarHash, pushes recorded", async () => {
    const pick = (...attributes: string[]): string[] =>
      attributes.map((attribute) => byAttribute.get(attribute) ?? "");
    const steps: [string, string[], string[]][] = [
      ["zstd", pick("topFile", "topExe"), []],
      ["none", pick("topSymlink", "tree"), []],
      ["xz", outputs, []],
      // A .drv named on the command line means its outputs; --derivation copies the file itself.
      ["xz", drvs, ["--derivation"]],
    ];
    for (const [compression, storePaths, extra] of steps) {
      const result = push(compression, netrc, storePaths, extra);
      expect(result.output).toBe(result.status === 0 ? result.output : "");
      expect(result.status).toBe(0);
    }
    for (const path of paths) {
      expect([path, narHashIn(daemon.store, path)]).toEqual([path, narHashIn(source, path)]);
    }
    expect(staged()).toEqual([]);
    // Written to the state database off the request path, within a couple of seconds.
    const pushes = await waitForValue("the pushes in state.sqlite", () => {
      const recorded = recordedPushes();
      return recorded.length === paths.length ? recorded : undefined;
    });
    const first = pushes[0];
    expect(first?.token).toBe("admin");
    expect(pick("topFile", "topExe")).toContain(first?.path);
    expect(first?.narSize).toBe(pathInfoIn(source, first?.path ?? "")?.narSize);
    // A push is a use of the path, for the budget's least-recently-used order.
    const state = new StateDatabase(join(work, "state"), { busyTimeoutMs: 5000 });
    try {
      expect(state.lastUses(paths.map((path) => baseNameOf(path).slice(0, 32))).size).toBe(
        paths.length,
      );
    } finally {
      state.close();
    }
  });

  it("a third store copies the pushed closure back from storefront, signatures checked", () => {
    const third = makeTestStore("storefront-push-third-");
    try {
      const copyBack = (storePaths: string[], extra: string[]): void => {
        const result = nixCommand(
          [
            "copy",
            "--from",
            server.url,
            "--to",
            third.root,
            "--option",
            "trusted-public-keys",
            publicKey,
            ...extra,
            ...storePaths,
          ],
          join(work, "cache-third"),
        );
        expect(result.output).toBe(result.status === 0 ? result.output : "");
      };
      copyBack(outputs, []);
      copyBack(drvs, ["--derivation"]);
      for (const path of paths) expect(narHashIn(third, path)).toBe(narHashIn(source, path));
      const verify = spawnSync(
        "nix-store",
        ["--store", third.root, "--verify", "--check-contents"],
        {
          encoding: "utf8",
        },
      );
      expect(verify.status).toBe(0);
    } finally {
      third.remove();
    }
  });

  it("a push of paths already there succeeds without work", async () => {
    const before = recordedPushes();
    for (const compression of ["zstd", "none"]) {
      expect(push(compression, netrc, outputs).status).toBe(0);
      expect(push(compression, netrc, drvs, ["--derivation"]).status).toBe(0);
    }
    expect(staged()).toEqual([]);
    expect(recordedPushes()).toEqual(before);
    const metrics = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
    expect(sumOf(metrics, "storefront_push_paths_total")).toBe(paths.length);
  });
});
