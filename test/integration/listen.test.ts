// `bind` in each form storefront accepts, and TLS, checked with curl over real connections.

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { curl } from "../support/curl.ts";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import { listeningPort, stopWith, type ServerProcess, serveProcesses } from "../support/server.ts";

describe.skipIf(!hasNix)("listening", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  const processes = serveProcesses("storefront-listen-");

  const serve = (bind: string, extra = ""): ServerProcess =>
    processes.spawn(`bind = "${bind}"\nworkers = 1\n${built.store.configLine}${extra}`);

  it("serves on an IPv4 address", async () => {
    const server = serve("127.0.0.1:0");
    const port = await listeningPort(server);
    const answer = await curl([`http://127.0.0.1:${port}/nix-cache-info`]);
    expect(answer.body).toContain("StoreDir: /nix/store");
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("serves on IPv6 loopback only when bound to [::1]", async () => {
    const server = serve("[::1]:0");
    const port = Number((await server.waitForLog(/listening on \[::1\]:(\d+)/))[1]);
    expect((await curl([`http://[::1]:${port}/nix-cache-info`])).body).toContain("StoreDir:");
    expect((await curl([`http://127.0.0.1:${port}/nix-cache-info`])).code).toBe(7);
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("serves IPv4 and IPv6 clients when bound to [::] (dual stack)", async () => {
    const server = serve("[::]:0");
    const port = await listeningPort(server);
    expect((await curl([`http://[::1]:${port}/nix-cache-info`])).body).toContain("StoreDir:");
    expect((await curl([`http://127.0.0.1:${port}/nix-cache-info`])).body).toContain("StoreDir:");
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("serves on a unix socket, replacing a stale one left by a killed server", async () => {
    const socket = join(processes.dir, "storefront.sock");
    const first = serve(`unix:${socket}`);
    await first.waitForLog(/listening on unix:\S+/);
    first.kill();
    await first.exited;

    const second = serve(`unix:${socket}`);
    expect((await second.waitForLog(/listening on (\S+)/))[1]).toBe(`unix:${socket}`);
    const answer = await curl(["--unix-socket", socket, "http://localhost/nix-cache-info"]);
    expect(answer.body).toContain("StoreDir: /nix/store");
    expect(await stopWith(second, "SIGTERM")).toBe(0);
  });

  it("fails with exit 1 and one line when the port is taken", async () => {
    const first = serve("127.0.0.1:0");
    const port = await listeningPort(first);
    const second = serve(`127.0.0.1:${port}`);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toBe(
      `storefront: cannot listen on 127.0.0.1:${port} ("bind"): the address is in use (is another server, harmonia or nix-serve, running?); stop it, or choose another address with --bind or "bind" in the config\n`,
    );
    expect(await stopWith(first, "SIGTERM")).toBe(0);
  });

  describe("with TLS", () => {
    let cert: string;
    let key: string;
    let otherKey: string;

    beforeAll(() => {
      cert = join(processes.dir, "cert.pem");
      key = join(processes.dir, "key.pem");
      otherKey = join(processes.dir, "other-key.pem");
      // A self-signed certificate for localhost, made now: nothing secret is committed.
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
          "-addext",
          "subjectAltName=DNS:localhost,IP:127.0.0.1",
          "-keyout",
          key,
          "-out",
          cert,
        ],
        { stdio: "ignore" },
      );
      execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-out", otherKey], {
        stdio: "ignore",
      });
    });

    const tls = (certPath: string, keyPath: string): string =>
      `tls_cert_path = "${certPath}"\ntls_key_path = "${keyPath}"\n`;

    it("serves HTTPS that a client trusting the certificate accepts", async () => {
      const server = serve("127.0.0.1:0", tls(cert, key));
      const port = await listeningPort(server);
      const answer = await curl(["--cacert", cert, `https://localhost:${port}/nix-cache-info`]);
      expect(answer.body).toContain("StoreDir: /nix/store");
      // A client that does not know the certificate refuses it.
      expect((await curl([`https://localhost:${port}/nix-cache-info`])).code).toBe(60);
      expect(await stopWith(server, "SIGTERM")).toBe(0);
    });

    it.each([
      [
        "a missing key file",
        () => tls(cert, join(processes.dir, "nope.pem")),
        "nope.pem: cannot read the TLS key: there is no such file or directory",
      ],
      [
        "a certificate that is not PEM",
        () => tls(join(processes.dir, "garbage.pem"), key),
        "garbage.pem: not a PEM certificate",
      ],
      [
        "a key that is not PEM",
        () => tls(cert, join(processes.dir, "garbage.pem")),
        "garbage.pem: not a PEM private key",
      ],
      [
        "a key that does not fit the certificate",
        () => tls(cert, otherKey),
        "other-key.pem: the key does not fit the certificate",
      ],
    ])("stops at start on %s, naming the file", async (_, config, message) => {
      writeFileSync(join(processes.dir, "garbage.pem"), "not a pem file\n");
      for (const workers of [1, 2]) {
        const server = processes.spawn(
          `bind = "127.0.0.1:0"\nworkers = ${workers}\n${built.store.configLine}${config()}`,
        );
        expect(await server.exited).toBe(1);
        expect(server.stderr()).toContain(message);
        expect(server.stderr().trimEnd().split("\n")).toHaveLength(1);
      }
    });

    it("refuses TLS on a unix socket", async () => {
      const server = serve(`unix:${join(processes.dir, "tls.sock")}`, tls(cert, key));
      expect(await server.exited).toBe(1);
      expect(server.stderr()).toMatch(/TLS .* cannot be used with a unix socket/);
    });
  });
});
