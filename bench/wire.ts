// The timed client: HTTP/1.1 GETs over one raw keep-alive TCP connection, reading into one
// reused 1 MiB buffer (net's `onread`) and counting body bytes without keeping or decoding
// them. node:http allocates a Buffer per read and parses in JS; on loopback that made the
// client, not nginx, the bottleneck (about half of curl's speed). This client keeps up with
// curl, so the servers are what is measured.

import { connect, type Socket } from "node:net";

export interface WireResponse {
  readonly status: number;
  /** Body bytes (after removing chunked framing; still compressed if it was). */
  readonly bytes: number;
  /** Content-Encoding, or "identity". */
  readonly encoding: string;
}

const READ_BUFFER_BYTES = 1024 * 1024;
const HEADER_END = Buffer.from("\r\n\r\n");

type BodyMode =
  | { kind: "length"; remaining: number }
  | {
      kind: "chunked";
      state: "size" | "data" | "data-crlf" | "trailer";
      remaining: number;
      line: string;
    }
  | { kind: "close" };

interface Pending {
  resolve(response: WireResponse): void;
  reject(error: Error): void;
  head: Buffer[];
  status: number;
  encoding: string;
  body: BodyMode | undefined;
  bytes: number;
}

export class WireConnection {
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | undefined;
  #pending: Pending | undefined;

  constructor(base: string) {
    const url = new URL(base);
    this.#host = url.hostname;
    this.#port = Number(url.port);
  }

  /** GETs `path` (with query) and resolves once the whole body has arrived. */
  get(path: string, headers: Readonly<Record<string, string>> = {}): Promise<WireResponse> {
    if (this.#pending !== undefined) throw new Error("one request at a time per connection");
    const socket = this.#socket ?? this.#connect();
    let head = `GET ${path} HTTP/1.1\r\nHost: ${this.#host}:${this.#port}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    return new Promise((resolve, reject) => {
      this.#pending = {
        resolve,
        reject,
        head: [],
        status: 0,
        encoding: "identity",
        body: undefined,
        bytes: 0,
      };
      socket.write(head + "\r\n");
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #connect(): Socket {
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const socket = connect({
      host: this.#host,
      port: this.#port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (count) => {
          this.#receive(readBuffer.subarray(0, count));
          return true;
        },
      },
    });
    const fail = (error: Error): void => {
      const pending = this.#pending;
      this.#pending = undefined;
      this.#socket = undefined;
      if (pending === undefined) return;
      if (pending.body?.kind === "close") {
        pending.resolve({
          status: pending.status,
          bytes: pending.bytes,
          encoding: pending.encoding,
        });
      } else {
        pending.reject(error);
      }
    };
    socket.on("error", fail);
    socket.on("close", () => {
      fail(new Error("connection closed before the response was complete"));
    });
    this.#socket = socket;
    return socket;
  }

  #receive(data: Buffer): void {
    const pending = this.#pending;
    if (pending === undefined) throw new Error(`unexpected ${data.length} bytes from the server`);
    let rest = data;
    if (pending.body === undefined) {
      pending.head.push(Buffer.from(rest)); // copied: `data` is the reused read buffer
      const head = Buffer.concat(pending.head);
      const end = head.indexOf(HEADER_END);
      if (end === -1) return;
      pending.body = this.#parseHead(pending, head.subarray(0, end).toString("latin1"));
      rest = head.subarray(end + HEADER_END.length);
    }
    this.#consumeBody(pending, rest);
  }

  #parseHead(pending: Pending, text: string): BodyMode {
    const [statusLine = "", ...lines] = text.split("\r\n");
    pending.status = Number(statusLine.split(" ")[1]);
    let length: number | undefined;
    let chunked = false;
    for (const line of lines) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding") chunked = value.toLowerCase().includes("chunked");
      else if (name === "content-encoding") pending.encoding = value;
    }
    if (chunked) return { kind: "chunked", state: "size", remaining: 0, line: "" };
    if (length !== undefined) return { kind: "length", remaining: length };
    return { kind: "close" };
  }

  #consumeBody(pending: Pending, data: Buffer): void {
    const body = pending.body;
    if (body === undefined) return;
    if (body.kind === "length") {
      const take = Math.min(body.remaining, data.length);
      body.remaining -= take;
      pending.bytes += take;
      if (body.remaining === 0) this.#complete(pending);
    } else if (body.kind === "close") {
      pending.bytes += data.length;
    } else {
      this.#consumeChunked(pending, body, data);
    }
  }

  #consumeChunked(
    pending: Pending,
    body: Extract<BodyMode, { kind: "chunked" }>,
    data: Buffer,
  ): void {
    let offset = 0;
    while (offset < data.length) {
      if (body.state === "data") {
        const take = Math.min(body.remaining, data.length - offset);
        pending.bytes += take;
        body.remaining -= take;
        offset += take;
        if (body.remaining === 0) body.state = "data-crlf";
        continue;
      }
      // A line: the chunk size, the CRLF after a chunk's data, or the (empty) trailer.
      const newline = data.indexOf(10, offset);
      const end = newline === -1 ? data.length : newline + 1;
      body.line += data.subarray(offset, end).toString("latin1");
      offset = end;
      if (newline === -1) return;
      const line = body.line.trim();
      body.line = "";
      if (body.state === "data-crlf") {
        body.state = "size";
      } else if (body.state === "size") {
        body.remaining = parseInt(line.split(";")[0] ?? "", 16);
        body.state = body.remaining === 0 ? "trailer" : "data";
      } else if (line === "") {
        this.#complete(pending);
        return;
      }
    }
  }

  #complete(pending: Pending): void {
    this.#pending = undefined;
    pending.resolve({ status: pending.status, bytes: pending.bytes, encoding: pending.encoding });
  }
}
