// Pushed realisations: `PUT /realisations/<id>.doi` (what Nix up to 2.34 and Lix upload for a CA
// derivation's output) is registered through a real nix-daemon and served back by
// `GET /realisations/<id>.doi`; a malformed or lying one is refused and changes nothing. The
// build-trace form (`/build-trace-v2/<drv>/<output>.doi`, Nix 2.35+) needs a daemon that keys
// realisations by derivation path: the daemon here (Nix 2.8) does not, so it is refused, and the
// GET is a 404.
//
// Nix 2.8 writes realisations only with the ca-derivations experimental feature, and `nix copy`
// of a path does not take them along: the documents are PUT here as Nix writes them (the JSON of
// Realisation::toJSON, keys sorted, from the source store's own Realisations table).

import { spawnSync } from "node:child_process";
import { DatabaseSync } from "node:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderRealisation, type Realisation } from "../../src/core/nix/realisation.ts";
import {
  baseNameOf,
  hasNix,
  makeTestStore,
  nixBuild,
  type TestStore,
  nixCopyTo,
} from "../support/nix.ts";
import { startNixDaemon, type TestDaemon } from "../support/nix-daemon.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";

const CA_FIXTURE = new URL("../fixtures/ca.nix", import.meta.url).pathname;
const CA_FEATURE = ["--extra-experimental-features", "ca-derivations"];
const TOKEN = "push-token-realisations-0123456789";

interface Row {
  readonly drvPath: string;
  readonly outputName: string;
  readonly path: string;
}

/** The realisations Nix recorded in `store`, each as the document Nix would upload. */
function realisationsIn(store: TestStore): Realisation[] {
  const database = new DatabaseSync(store.dbPath, { readOnly: true });
  try {
    const rows = database
      .prepare(
        "SELECT r.drvPath AS drvPath, r.outputName AS outputName, v.path AS path " +
          "FROM Realisations r JOIN ValidPaths v ON v.id = r.outputPath ORDER BY r.id",
      )
      .all() as unknown as Row[];
    return rows.map((row) => ({
      id: { drvHash: row.drvPath, outputName: row.outputName },
      outPath: baseNameOf(row.path),
      signatures: [],
      dependentRealisations: [],
    }));
  } finally {
    database.close();
  }
}

function idText(realisation: Realisation): string {
  return `${realisation.id.drvHash}!${realisation.id.outputName}`;
}

describe.skipIf(!hasNix)("pushed realisations", () => {
  let source: TestStore;
  let daemon: TestDaemon;
  let server: RunningServer;
  let work: string;
  let realisations: Realisation[];
  let outputs: Map<string, string>;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    source = makeTestStore("storefront-push-ca-");
    outputs = nixBuild(
      source,
      CA_FIXTURE,
      ["base", "top"],
      [...CA_FEATURE, "--option", "substituters", ""],
    );
    realisations = realisationsIn(source);
    // A daemon of Nix 2.8 keeps realisations (its Realisations table) only with the feature on.
    daemon = await startNixDaemon(["--option", "extra-experimental-features", "ca-derivations"]);
    work = tempDir("storefront-push-ca-");
    writeFileSync(join(work, "token"), TOKEN, { mode: 0o600 });
    writeFileSync(join(work, "netrc"), `machine 127.0.0.1 login ci password ${TOKEN}\n`);
    server = await startServer(
      work,
      `bind = "127.0.0.1:0"\n${daemon.store.configLine}` +
        `daemon_socket = "${daemon.socketPath}"\nstate_dir = "${join(work, "state")}"\n` +
        `admin_token_paths = ["${join(work, "token")}"]\n[push]\nenable = true\n`,
    );
    // The outputs themselves first: a realisation names a path that must be valid.
    const copied = nixCopyTo(
      source.root,
      `${server.url}?compression=none`,
      join(work, "netrc"),
      [...outputs.values()],
      join(work, "cache"),
    );
    if (copied.status !== 0) throw new Error(`nix copy failed: ${copied.output}`);
  }, 300_000);

  afterAll(async () => {
    await (server as RunningServer | undefined)?.stop();
    await (daemon as TestDaemon | undefined)?.stop();
    (source as TestStore | undefined)?.remove();
  });

  const url = (realisation: Realisation, encode = false): string => {
    const id = idText(realisation);
    return `${server.url}/realisations/${encode ? encodeURIComponent(id) : id}.doi`;
  };

  async function put(target: string, body: string): Promise<number> {
    const response = await fetch(target, { method: "PUT", headers: auth, body });
    await response.arrayBuffer();
    return response.status;
  }

  async function servedAt(target: string): Promise<{ status: number; body: string }> {
    const response = await fetch(target);
    return { status: response.status, body: await response.text() };
  }

  it("refuses malformed or lying realisations and registers nothing", async () => {
    expect(realisations.length).toBeGreaterThanOrEqual(2);
    const [base] = realisations;
    if (base === undefined) throw new Error("no realisation recorded");
    const document = renderRealisation(base);
    const other = realisations[1] ?? base;
    const refusals: [string, string][] = [
      ["not JSON", "{"],
      ["JSON of another shape", JSON.stringify({ id: idText(base) })],
      ["a document whose id is not the URL's", renderRealisation(other)],
      ["an id in the URL that is no id", document],
      // The daemon refuses an out path that is not valid in the store.
      [
        "an out path that is not in the store",
        renderRealisation({ ...base, outPath: "00000000000000000000000000000000-ca-base" }),
      ],
    ];
    for (const [what, body] of refusals) {
      const target =
        what === "an id in the URL that is no id"
          ? `${server.url}/realisations/sha256:1234!out.doi`
          : url(base);
      expect({ what, status: await put(target, body) }).toEqual({ what, status: 400 });
    }
    // Without a push token: nothing is read.
    const anonymous = await fetch(url(base), { method: "PUT", body: document });
    expect(anonymous.status).toBe(401);
    for (const realisation of realisations) {
      expect((await servedAt(url(realisation))).status).toBe(404);
    }
  });

  it("registers each pushed realisation through the daemon and serves it back", async () => {
    for (const realisation of realisations) {
      expect(await put(url(realisation), renderRealisation(realisation))).toBe(200);
    }
    for (const realisation of realisations) {
      // Both spellings of the id that Nix's clients use: `!` and `:` as they are, or encoded.
      for (const target of [url(realisation), url(realisation, true)]) {
        const served = await servedAt(target);
        expect(served.status).toBe(200);
        expect(served.body).toBe(renderRealisation(realisation));
      }
    }
    // The daemon's own store holds them: the rows Nix's `nix realisation info` reads.
    const registered = realisationsIn(daemon.store).map(idText).sort();
    expect(registered).toEqual(realisations.map(idText).sort());
    // Pushed again (Nix does not ask first): accepted, nothing changes.
    const [first] = realisations;
    if (first !== undefined) expect(await put(url(first), renderRealisation(first))).toBe(200);
    expect(realisationsIn(daemon.store).length).toBe(realisations.length);
  });

  it("refuses the build-trace form on a daemon that keys realisations by hash; its GET is a 404", async () => {
    const top = outputs.get("top") ?? "";
    const deriver = spawnSync("nix-store", ["--store", source.root, "-q", "--deriver", top], {
      encoding: "utf8",
    }).stdout.trim();
    expect(deriver).toMatch(/\.drv$/);
    const target = `${server.url}/build-trace-v2/${baseNameOf(deriver)}/out.doi`;
    const entry = JSON.stringify({ outPath: baseNameOf(top), signatures: [] });
    expect(await put(target, entry)).toBe(400);
    expect(await put(target, "not json")).toBe(400);
    expect((await servedAt(target)).status).toBe(404);
    expect(realisationsIn(daemon.store).length).toBe(realisations.length);
  });
});
