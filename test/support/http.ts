// A plain HTTP client for tests: raw paths are sent as written (no normalisation of `..` or
// percent-escapes, which fetch would do), bodies as sent (no decompression), and a response
// cut short is reported, not hidden.

import { request } from "node:http";

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
