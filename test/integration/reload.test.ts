// SIGHUP reloads the signing keys and admin tokens without dropping a connection, in one
// process and in a cluster; a bad key file keeps the running keys and says so without the secret.

import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type TLSSocket } from "node:tls";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl } from "../support/curl.ts";
import { hasNix } from "../support/nix.ts";
import { childPids, listeningPort, serveProcesses, type ServerProcess } from "../support/server.ts";
import { slowDownload } from "../support/slow-client.ts";
import { buildSlowDownloadPath, type SlowDownloadPath } from "../support/slow-download-path.ts";
import { waitFor } from "../support/wait.ts";

const KEYS = new URL("../fixtures/keys/", import.meta.url).pathname;
/** 3 MB/s: the 24 MB NAR takes about 8 s, across the reloads. */
const SLOW = 3 * 1024 * 1024;
const OLD_TOKEN = "old-token-0123456789abcdef";
const NEW_TOKEN = "new-token-0123456789abcdef";

describe.skipIf(!hasNix)("SIGHUP", () => {
  let nar: SlowDownloadPath;
  const processes = serveProcesses("storefront-reload-");

  beforeAll(() => {
    nar = buildSlowDownloadPath();
  });
  afterAll(() => {
    nar.store.remove();
  });

  const count = (server: ServerProcess, pattern: RegExp): number =>
    server.stderr().match(new RegExp(pattern.source, "g"))?.length ?? 0;

  it.each([
    [1, 1],
    [2, 1],
    [1, 2],
  ])(
    "reloads keys and tokens, keeps a download running and the processes alive (workers = %i, threads = %i)",
    async (workers, threads) => {
      const dir = processes.dir;
      const keyPath = join(dir, `key-${workers}-${threads}.secret`);
      const tokenPath = join(dir, `token-${workers}-${threads}`);
      copyFileSync(join(KEYS, "test-1.secret"), keyPath);
      writeFileSync(tokenPath, OLD_TOKEN, { mode: 0o600 });
      const server = processes.spawn(
        `bind = "127.0.0.1:0"\nworkers = ${workers}\nthreads = ${threads}\n${nar.store.configLine}` +
          `sign_key_paths = ["${keyPath}"]\nadmin_token_paths = ["${tokenPath}"]\n`,
      );
      const url = `http://127.0.0.1:${await listeningPort(server)}`;
      const pid = server.child.pid ?? 0;
      const workerPids = await childPids(pid);
      expect(workerPids).toHaveLength(workers === 1 ? 0 : workers);
      const hash = nar.narUrlPath.slice("/nar/".length, "/nar/".length + 32);
      const signatures = async (): Promise<string[]> => {
        // Several requests, each on a connection of its own, so that every worker or thread
        // answers some.
        const names = new Set<string>();
        for (let i = 0; i < 12; i++) {
          const text = (await curl([`${url}/${hash}.narinfo`])).body;
          for (const match of text.matchAll(/^Sig: ([^:]+):/gm)) names.add(match[1] ?? "");
        }
        return [...names].sort();
      };
      const pinsStatus = async (token: string): Promise<number> =>
        (await fetch(`${url}/api/v1/pins`, { headers: { authorization: `Bearer ${token}` } }))
          .status;
      // Each process logs its reload: the primary and every worker; or every thread.
      const reloadLines = workers === 1 ? threads : workers + 1;

      expect(await signatures()).toEqual(["storefront-test-1"]);
      expect(await pinsStatus(OLD_TOKEN)).toBe(200);
      const download = slowDownload(url + nar.narUrlPath, SLOW);
      await download.received(1024 * 1024);

      // A new key and token in the same files.
      copyFileSync(join(KEYS, "other-1.secret"), keyPath);
      writeFileSync(tokenPath, NEW_TOKEN);
      server.child.kill("SIGHUP");
      await waitFor(
        () => count(server, /info reloaded signing keys and access tokens/) === reloadLines,
        "every process reloaded",
      );
      expect(await signatures()).toEqual(["other-key-1"]);
      expect(await pinsStatus(NEW_TOKEN)).toBe(200);
      expect(await pinsStatus(OLD_TOKEN)).toBe(401);

      // A bad key file: an error that names it and not its contents; the running keys stay.
      const secret = readFileSync(join(KEYS, "test-1.secret"), "utf8").trim().split(":")[1] ?? "";
      writeFileSync(keyPath, `te st\nx:${secret}\n`);
      server.child.kill("SIGHUP");
      await waitFor(() => count(server, /reload failed/) === 1, "the reload to fail");
      expect(server.stderr()).toMatch(
        /error reload failed; the running keys, tokens and certificate stay/,
      );
      expect(server.stderr()).toContain(`${keyPath}: not a Nix secret key`);
      expect(server.stderr()).not.toContain(secret);
      expect(await signatures()).toEqual(["other-key-1"]);
      expect(await pinsStatus(NEW_TOKEN)).toBe(200);

      // The download that ran across both reloads completes with the right bytes.
      const result = await download.done;
      expect(result).toMatchObject({ status: 200, complete: true, bytes: nar.narSize });
      expect(result.sha256).toBe(nar.narSha256);
      expect(server.child.exitCode).toBeNull();
      expect(server.child.signalCode).toBeNull();
      expect(await childPids(pid)).toEqual(workerPids);
      expect(server.stderr()).not.toMatch(/worker died/);

      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    },
  );

  it("applies the key list and priority of the config file, and logs settings that need a restart", async () => {
    const dir = processes.dir;
    const first = join(dir, "first.secret");
    const second = join(dir, "second.secret");
    copyFileSync(join(KEYS, "test-1.secret"), first);
    copyFileSync(join(KEYS, "other-1.secret"), second);
    const base = `bind = "127.0.0.1:0"\n${nar.store.configLine}`;
    const server = processes.spawn(`${base}priority = 30\nsign_key_paths = ["${first}"]\n`);
    const url = `http://127.0.0.1:${await listeningPort(server)}`;
    const hash = nar.narUrlPath.slice("/nar/".length, "/nar/".length + 32);

    writeFileSync(
      join(dir, "storefront.toml"),
      `${base}priority = 50\nidle_timeout = 7\nsign_key_paths = ["${first}", "${second}"]\n`,
    );
    server.child.kill("SIGHUP");
    await server.waitForLog(/info reloaded signing keys and access tokens.*other-key-1/);
    expect(server.stderr()).toMatch(/warn reload: settings changed .* keys="?idle_timeout"?\n/);
    const text = await (await fetch(`${url}/${hash}.narinfo`)).text();
    expect([...text.matchAll(/^Sig: ([^:]+):/gm)].map((m) => m[1])).toEqual([
      "storefront-test-1",
      "other-key-1",
    ]);
    expect(await (await fetch(`${url}/nix-cache-info`)).text()).toContain("Priority: 50");
    expect(server.child.exitCode).toBeNull();
  });

  it("reloads the TLS certificate for new connections, and keeps the open ones", async () => {
    const dir = processes.dir;
    const makeCertificate = (name: string): { cert: string; key: string } => {
      const cert = join(dir, `${name}.crt`);
      const key = join(dir, `${name}.key`);
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "2",
          "-subj",
          "/CN=localhost",
        ].concat(["-keyout", key, "-out", cert]),
        { stdio: "ignore" },
      );
      return { cert, key };
    };
    const first = makeCertificate("first");
    const second = makeCertificate("second");
    const certPath = join(dir, "tls.crt");
    const keyPath = join(dir, "tls.key");
    copyFileSync(first.cert, certPath);
    copyFileSync(first.key, keyPath);
    const fingerprint = (path: string): string =>
      new X509Certificate(readFileSync(path)).fingerprint256;
    const server = processes.spawn(
      `bind = "127.0.0.1:0"\n${nar.store.configLine}` +
        `tls_cert_path = "${certPath}"\ntls_key_path = "${keyPath}"\n`,
    );
    const port = await listeningPort(server);
    const open = async (): Promise<TLSSocket> => {
      const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
      await once(socket, "secureConnect");
      return socket;
    };
    const request = async (socket: TLSSocket): Promise<string> => {
      socket.write("GET /nix-cache-info HTTP/1.1\r\nHost: localhost\r\n\r\n");
      const [data] = (await once(socket, "data")) as [Buffer];
      return data.toString();
    };

    const before = await open();
    expect(before.getPeerCertificate().fingerprint256).toBe(fingerprint(first.cert));
    expect(await request(before)).toMatch(/^HTTP\/1\.1 200 /);

    copyFileSync(second.cert, certPath);
    copyFileSync(second.key, keyPath);
    server.child.kill("SIGHUP");
    await server.waitForLog(/info reloaded signing keys and access tokens.* tls=true/);
    const after = await open();
    expect(after.getPeerCertificate().fingerprint256).toBe(fingerprint(second.cert));
    expect(await request(after)).toMatch(/^HTTP\/1\.1 200 /);
    // The connection made before the reload still answers.
    expect(await request(before)).toMatch(/^HTTP\/1\.1 200 /);

    // A key that does not fit the certificate: the running certificate stays.
    copyFileSync(first.key, keyPath);
    server.child.kill("SIGHUP");
    await server.waitForLog(/reload failed.*the key does not fit the certificate/);
    const still = await open();
    expect(still.getPeerCertificate().fingerprint256).toBe(fingerprint(second.cert));
    for (const socket of [before, after, still]) socket.destroy();
    expect(server.child.exitCode).toBeNull();
  });
});
