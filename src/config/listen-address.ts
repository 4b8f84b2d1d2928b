// The forms `bind` takes: `host:port`, `[v6]:port`, and `unix:/path` (harmonia's spellings).

export type ListenAddress =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "unix"; readonly path: string };

/** Where a server listens: a bind address, or a socket inherited from systemd. */
export type ListenTarget = ListenAddress | { readonly kind: "fd"; readonly fd: number };

/** Parses a bind address, or returns a sentence saying what is wrong with it. */
export function parseListenAddress(text: string): ListenAddress | string {
  if (text.startsWith("unix:")) {
    // `unix:/run/x.sock` and the URL form `unix:///run/x.sock` both name /run/x.sock.
    const path = text.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    return path.startsWith("/") ? { kind: "unix", path } : "a unix socket path must be absolute";
  }
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return "expected host:port, [v6-address]:port or unix:/path";
  const port = Number(match[3]);
  if (port > 65535) return "the port must be at most 65535";
  return { kind: "tcp", host: match[1] ?? match[2] ?? "", port };
}

/** How to show an address to a person, e.g. in "listening on ...". */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === "unix") return `unix:${address.path}`;
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
