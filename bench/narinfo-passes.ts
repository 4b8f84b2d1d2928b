// Every narinfo in turn, pass after pass, on a storefront started anew: what the first passes
// of a fresh process cost next to later ones (JIT warm-up, lazy loading).
//
//   node bench/narinfo-passes.ts --work bench/work/full [--passes 30] [-- node flags]

import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { narInfoAll } from "./measure.ts";
import { startStorefront } from "./servers.ts";

const { values: flags, positionals } = parseArgs({
  options: { work: { type: "string" }, passes: { type: "string", default: "30" } },
  allowPositionals: true,
  strict: true,
});
const work = flags.work ?? "bench/work/full";
const hashes = readdirSync(join(work, "caches", "none"))
  .filter((name) => name.endsWith(".narinfo"))
  .map((name) => name.slice(0, 32));
const scratch = mkdtempSync(join(tmpdir(), "narinfo-passes-"));
const sf = await startStorefront({
  dir: scratch,
  storeRoot: join(work, "store"),
  keyFile: join(work, "bench-key.secret"),
  cacheDirectory: join(scratch, "cache"),
  nodeFlags: positionals,
});
const times: string[] = [];
try {
  for (let i = 0; i < Number(flags.passes); i++) {
    times.push(((await narInfoAll(sf.url, hashes)).seconds * 1000).toFixed(1));
  }
} finally {
  await sf.stop();
}
process.stdout.write(`${hashes.length} narinfos, ms per pass: ${times.join(" ")}\n`);
