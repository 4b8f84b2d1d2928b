// A plain HTTP client for tests: raw paths are sent as written (no normalisation of `..` or
// percent-escapes, which fetch would do), bodies as sent (no decompression), and a response
// cut short is reported, not hidden.

import { request } from "node:http";
import { basename } from "node:path";

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** False when the connection broke before the whole body arrived. */
  readonly complete: boolean;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export function get(
  base: string,
  path: string,
  options: RequestOptions = {},
): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? "GET",
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        const finish = (complete: boolean): void => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            complete,
          });
        };
        res.on("end", () => {
          finish(res.complete);
        });
        res.on("error", () => {
          finish(false);
        });
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** `get` for an absolute URL. */
export function httpRequest(url: string, options: RequestOptions = {}): Promise<RawResponse> {
  const { origin, pathname, search } = new URL(url);
  return get(origin, pathname + search, options);
}

/** The NAR URL a narinfo names, made absolute. */
export async function narUrl(base: string, hash: string): Promise<string> {
  const narinfo = (await httpRequest(`${base}/${hash}.narinfo`)).body.toString();
  const match = /^URL: (.*)$/m.exec(narinfo);
  if (match === null) throw new Error(`no URL in narinfo of ${hash}: ${narinfo}`);
  return `${base}/${match[1] ?? ""}`;
}

/** The NAR URL that the narinfo of `storePath` names, made absolute. */
export function narUrlOf(server: { readonly url: string }, storePath: string): Promise<string> {
  return narUrl(server.url, basename(storePath).slice(0, 32));
}

/**
 * GETs `url` and hangs up once `bytes` of the body have arrived (by default: the first chunk),
 * as a client that goes away mid-download.
 */
export function takeAndHangUp(
  url: string,
  options: { readonly headers?: Record<string, string>; readonly bytes?: number } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: options.headers ?? {} }, (res) => {
      let received = 0;
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received >= (options.bytes ?? 1)) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET") reject(error);
    });
    req.end();
  });
}
