// The Nix daemon client's connections against fake daemons on unix sockets: errors that say what
// went wrong (no socket, a silent daemon, a closed connection), the pool replacing a connection
// the daemon dropped, and a NAR sent at the pace the daemon reads it.

import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NixDaemonClient, NixDaemonError } from "../../src/nix-daemon/index.ts";
import { Stderr } from "../../src/nix-daemon/protocol.ts";
import { WireWriter } from "../../src/nix-daemon/wire.ts";
import { WireReader } from "../../src/nix-daemon/wire-reader.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

const PATH = "/nix/store/ab3li50xq0nl4q5lxdyinb8w8y13my9s-f";
const NAR_HASH = "sha256:1xmr8jicvzszfzpz46g37mlpvbzjl2wpwvl2b05psipssyp1sm8h";
const V35 = (1 << 8) | 35;

const servers: Server[] = [];
const daemonSockets: Socket[] = [];
const clients: NixDaemonClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  // A paused socket would not notice its peer closing, and the server would wait for it.
  for (const socket of daemonSockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    server.close();
    await once(server, "close");
  }
});

interface FakeConnection {
  readonly socket: Socket;
  readonly reader: WireReader;
  readonly send: (writer: WireWriter) => void;
}

/** A unix socket server; `serve` runs for each connection. */
async function fakeDaemon(serve: (connection: FakeConnection) => Promise<void>): Promise<string> {
  const socketPath = join(tempDir("storefront-fake-daemon-"), "socket");
  const server = createServer((socket) => {
    daemonSockets.push(socket);
    const reader = new WireReader();
    socket.on("data", (chunk: Buffer) => {
      reader.push(chunk);
    });
    socket.on("close", () => {
      reader.fail(new Error("client went away"));
    });
    socket.on("error", () => undefined);
    const connection = {
      socket,
      reader,
      send: (writer: WireWriter) => socket.write(writer.toBuffer()),
    };
    serve(connection).catch(() => socket.destroy());
  });
  servers.push(server);
  server.listen(socketPath);
  await once(server, "listening");
  return socketPath;
}

/** The daemon's side of the handshake (as a 1.35 daemon that trusts us) and of SetOptions. */
async function acceptClient({ reader, send }: FakeConnection): Promise<void> {
  await reader.u64(); // magic
  send(new WireWriter().u64(0x6478696f).u64(V35));
  await reader.u64(); // the client's version
  await reader.u64(); // CPU affinity
  await reader.u64(); // reserveSpace
  send(new WireWriter().string("2.20.0-fake").u64(1).u64(Stderr.last));
  expect(await reader.u64()).toBe(19); // SetOptions
  for (let i = 0; i < 12; i++) await reader.u64();
  const overrides = await reader.u64();
  for (let i = 0; i < overrides * 2; i++) await reader.string();
  send(new WireWriter().u64(Stderr.last));
}

function clientOf(socketPath: string, timeoutMs?: number): NixDaemonClient {
  const client = new NixDaemonClient(
    timeoutMs === undefined ? { socketPath } : { socketPath, timeoutMs },
  );
  clients.push(client);
  return client;
}

function refusal(message: string): WireWriter {
  return new WireWriter()
    .u64(Stderr.error)
    .string("Error")
    .u64(0)
    .string("Error")
    .string(message)
    .u64(0)
    .u64(0);
}

describe("connection failures", () => {
  it("names the socket and the likely cause when there is no daemon", async () => {
    const socketPath = join(tempDir(), "no-socket");
    const error = await clientOf(socketPath)
      .isValidPath(PATH)
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(NixDaemonError);
    expect(error).toMatchObject({ kind: "connect" });
    expect((error as Error).message).toBe(
      `cannot connect to the Nix daemon at ${socketPath}: no such socket (is nix-daemon running? is daemon_socket right?)`,
    );
  });

  it("gives up on a daemon that says nothing, after the timeout", async () => {
    const socketPath = await fakeDaemon(() => new Promise(() => undefined));
    await expect(clientOf(socketPath, 1000).isValidPath(PATH)).rejects.toMatchObject({
      kind: "timeout",
      message: "the Nix daemon sent and took nothing for 1 s",
    });
  });

  it("says so when the daemon closes the connection", async () => {
    const socketPath = await fakeDaemon(async (connection) => {
      await acceptClient(connection);
      await connection.reader.u64();
      connection.socket.end();
    });
    await expect(clientOf(socketPath).isValidPath(PATH)).rejects.toMatchObject({
      kind: "closed",
    });
  });

  it("refuses a peer that is not a Nix daemon", async () => {
    const socketPath = await fakeDaemon(async ({ socket }) => {
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return Promise.resolve();
    });
    await expect(clientOf(socketPath).isValidPath(PATH)).rejects.toMatchObject({
      kind: "protocol",
    });
  });
});

describe("the pool", () => {
  it("replaces a connection the daemon dropped, and one answered twice", async () => {
    let connections = 0;
    const socketPath = await fakeDaemon(async (connection) => {
      connections++;
      await acceptClient(connection);
      const { reader, send, socket } = connection;
      expect(await reader.u64()).toBe(1); // IsValidPath
      const path = await reader.string();
      if (path.endsWith("-refused")) {
        // As a daemon refusing a request it cannot parse: the error twice, then hang up.
        send(refusal("cannot parse"));
        send(refusal("cannot parse"));
        socket.end();
        return;
      }
      send(new WireWriter().u64(Stderr.last).u64(true));
      // Then as a daemon that restarts: this connection ends while idle.
      socket.end();
    });
    const client = clientOf(socketPath);
    expect(await client.isValidPath(PATH)).toBe(true);
    // The idle connection is closed by the daemon; the next operation opens another (at once,
    // or after finding it closed).
    expect(await client.isValidPath(PATH)).toBe(true);
    await expect(
      client.isValidPath("/nix/store/ab3li50xq0nl4q5lxdyinb8w8y13my9s-refused"),
    ).rejects.toMatchObject({ kind: "daemon", daemonMessage: "cannot parse" });
    expect(await client.isValidPath(PATH)).toBe(true);
    expect(connections).toBe(4);
  });
});

describe("sending a NAR", () => {
  it("stops sending when the daemon refuses before reading the data, and reports the refusal", async () => {
    const socketPath = await fakeDaemon(async (connection) => {
      await acceptClient(connection);
      const { reader, send, socket } = connection;
      expect(await reader.u64()).toBe(45); // AddBuildLog
      await reader.string();
      // As a daemon that does not trust us: it refuses at once and reads no further.
      socket.pause();
      send(refusal("you are not privileged to add logs"));
      return new Promise(() => undefined);
    });
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        await Promise.resolve();
        yield Buffer.alloc(64 * 1024);
      }
    }
    const client = clientOf(socketPath, 30_000);
    await expect(
      client.addBuildLog("/nix/store/0c7d9fbbcjfq5xrbxwpfi8xr1w5pjd8k-f.drv", endless()),
    ).rejects.toMatchObject({
      kind: "daemon",
      daemonMessage: "you are not privileged to add logs",
    });
  });

  it("reads the source only as fast as the daemon takes the frames", async () => {
    const CHUNK = 64 * 1024;
    const CHUNKS = 1024; // 64 MiB, far more than the socket's buffers hold
    let daemonSocket: Socket | undefined;
    let received = 0;
    const socketPath = await fakeDaemon(async (connection) => {
      await acceptClient(connection);
      const { reader, send, socket } = connection;
      expect(await reader.u64()).toBe(39); // AddToStoreNar
      for (let i = 0; i < 3; i++) await reader.string(); // path, deriver, hash
      await reader.strings();
      for (let i = 0; i < 3; i++) await reader.u64(); // time, size, ultimate
      await reader.strings();
      await reader.string(); // ca
      await reader.u64(); // repair
      await reader.u64(); // dontCheckSigs
      // Now stop reading, as a daemon busy writing to disk.
      socket.pause();
      daemonSocket = socket;
      for (;;) {
        const length = await reader.u64();
        if (length === 0) break;
        received += (await reader.bytes(length)).length;
      }
      send(new WireWriter().u64(Stderr.last));
    });
    let pulled = 0;
    async function* nar(): AsyncGenerator<Buffer> {
      for (let i = 0; i < CHUNKS; i++) {
        pulled++;
        await Promise.resolve();
        yield Buffer.alloc(CHUNK, i % 256);
      }
    }
    const adding = clientOf(socketPath).addToStoreNar(
      { storePath: PATH, narHash: NAR_HASH, narSize: CHUNK * CHUNKS, references: [] },
      nar(),
    );
    await waitFor(() => daemonSocket !== undefined, "the daemon to stop reading");
    // Wait until the client stops pulling: it waits for the socket to drain.
    let last = -1;
    await waitFor(async () => {
      const before = pulled;
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stable = pulled === before && pulled === last;
      last = pulled;
      return stable;
    }, "the client to stop reading its source");
    expect(pulled * CHUNK).toBeLessThan(16 * 1024 * 1024);
    daemonSocket?.resume();
    await adding;
    expect(received).toBe(CHUNK * CHUNKS);
    expect(pulled).toBe(CHUNKS);
  });
});
