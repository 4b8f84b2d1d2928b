// Playing systemd's part without systemd: a notify socket that records what a service sends
// (sd_notify(3)), and listening sockets to hand over as systemd's socket activation does.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:net";
import { createInterface } from "node:readline";

/**
 * A unix datagram socket, as systemd's $NOTIFY_SOCKET. Node has no unix datagram sockets, so a
 * Python process (installed wherever Debian's tooling is) receives and prints each message.
 */
export interface NotifySocket {
  /** The value for NOTIFY_SOCKET: a path, or `@name` for an abstract socket. */
  readonly address: string;
  /** Messages received so far, one per line of each datagram, e.g. "READY=1". */
  readonly messages: string[];
  /** Resolves once `message` has been received. */
  waitFor(message: string): Promise<void>;
  close(): void;
}

const RECEIVER = `
import socket, sys
address = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("\\0" + address[1:] if address.startswith("@") else address)
print("bound", flush=True)
while True:
    # Descriptors sent along (systemd-notify's barrier) are closed on receipt, which is what
    # tells the sender that the message has been processed.
    data = sock.recv(65536)
    for line in data.decode().split("\\n"):
        print(line, flush=True)
`;

export async function openNotifySocket(address: string): Promise<NotifySocket> {
  const receiver: ChildProcess = spawn("python3", ["-c", RECEIVER, address], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const messages: string[] = [];
  const waiters = new Set<() => void>();
  const lines = createInterface({ input: receiver.stdout ?? process.stdin });
  await new Promise<void>((resolve, reject) => {
    receiver.once("exit", (code) => {
      reject(new Error(`the notify socket receiver exited with ${String(code)}`));
    });
    lines.on("line", (line) => {
      if (line === "bound") {
        resolve();
        return;
      }
      messages.push(line);
      for (const waiter of waiters) waiter();
    });
  });
  return {
    address,
    messages,
    waitFor: (message) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (!messages.includes(message)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
    close: () => {
      receiver.kill();
    },
  };
}

/** A listening socket to pass to a child as a descriptor, as systemd does for a .socket unit. */
export async function listeningSocket(
  ...args: [port: number, host: string] | [path: string]
): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => {
    if (args.length === 2) server.listen(args[0], args[1], resolve);
    else server.listen(args[0], resolve);
  });
  return server;
}

/**
 * The descriptor of a listening `server`, for spawn's `stdio`, which duplicates it into the child.
 * Node has no public accessor; its libuv handle carries the descriptor as `fd` on Unix.
 */
export function descriptorOf(server: Server): number {
  const fd = (server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("the server has no descriptor");
  return fd;
}

/**
 * A TCP socket held open across restarts of the service it is passed to, as systemd holds a
 * .socket unit's: a Python process listens on 127.0.0.1 (never accepting), and starts and stops
 * the service with the socket as descriptor 3, LISTEN_FDS=1 and LISTEN_PID set.
 */
export interface HeldSocket {
  readonly port: number;
  /** Starts `argv` on the socket; its stderr so far, read with `stderr()`. */
  start(argv: readonly string[]): Promise<void>;
  /** SIGTERM to the running service; resolves with its exit code. */
  stop(): Promise<number>;
  /** Everything the services wrote to stderr. */
  stderr(): string;
  close(): void;
}

const HOLDER = `
import os, signal, socket, subprocess, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
sock.listen(128)
os.dup2(sock.fileno(), 3)
print("port", sock.getsockname()[1], flush=True)
child = None
for line in sys.stdin:
    words = line.split("\\0")
    if words[0] == "start":
        env = dict(os.environ, LISTEN_FDS="1")
        child = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', *words[1:-1]],
                                 pass_fds=(3,), env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL)
        print("started", flush=True)
    elif words[0] == "stop":
        child.send_signal(signal.SIGTERM)
        print("exited", child.wait(), flush=True)
`;

export async function holdSocket(): Promise<HeldSocket> {
  const holder = spawn("python3", ["-c", HOLDER], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  holder.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
  const lines = createInterface({ input: holder.stdout });
  const pending: ((line: string) => void)[] = [];
  lines.on("line", (line) => pending.shift()?.(line));
  const next = (): Promise<string> =>
    new Promise((resolve) => {
      pending.push(resolve);
    });
  const send = (words: readonly string[]): void => {
    holder.stdin.write([...words, "\n"].join("\0"));
  };
  const port = Number((await next()).split(" ")[1]);
  return {
    port,
    start: async (argv) => {
      const started = next();
      send(["start", ...argv]);
      await started;
    },
    stop: async () => {
      const exited = next();
      send(["stop"]);
      return Number((await exited).split(" ")[1]);
    },
    stderr: () => stderr,
    close: () => {
      holder.kill();
    },
  };
}
