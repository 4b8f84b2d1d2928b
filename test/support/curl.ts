// curl, the client most people check a cache with.

import { spawn } from "node:child_process";

export interface CurlResult {
  /** curl's exit code: 0 on success, 7 when the connection was refused, ... */
  readonly code: number | null;
  readonly body: string;
  readonly stderr: string;
}

export async function curl(args: readonly string[]): Promise<CurlResult> {
  const child = spawn("curl", ["--silent", "--show-error", "--max-time", "60", ...args]);
  let body = "";
  let stderr = "";
  child.stdout.on("data", (data: Buffer) => (body += data.toString()));
  child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  return { code, body, stderr };
}
