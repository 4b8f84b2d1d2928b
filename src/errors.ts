// One error type for everything a request can run into. The code decides the HTTP status (in
// http/errors.ts, and nowhere else); the detail is for the log only and never reaches a client.

export type ErrorCode =
  /** The request is malformed: a bad hash, a bad query. */
  | "bad_request"
  /** Nothing is there: an unknown route, a path not in the store, files gone from disk. */
  | "not_found"
  /** A route that needs a token, without valid credentials. */
  | "unauthorized"
  /** Valid credentials, but a token without the scope the route needs. */
  | "forbidden"
  /** A request body larger than the endpoint takes. */
  | "payload_too_large"
  /** A store path that is not valid in the served store (pinning one). */
  | "path_not_valid"
  /** A Range that starts at or past the end of the body; the 416 carries the body's size. */
  | "range_not_satisfiable"
  /** The route exists but not for this method. */
  | "method_not_allowed"
  /** The files on disk no longer match what the database promised, mid-response. */
  | "store_changed"
  /** Too many connections or downloads at once (max_connections, max_streams): retry later. */
  | "busy"
  /** Our own fault: a bug, or the database failing. */
  | "internal";

export class StorefrontError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, detail: string, options?: ErrorOptions) {
    super(detail, options);
    this.name = "StorefrontError";
    this.code = code;
  }
}

/**
 * A mistake in the configuration: a bad key or value, a file it names that is missing or does not
 * parse. The message names the key or file and the fix; the command exits 1.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * The configuration is fine but the daemon could not start with it here and now: the port is in
 * use, a worker failed to start. The message says what failed; the command exits 1, as for a
 * ConfigError.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

/** True for the errno codes that mean a file or directory is not there (any more). */
export function isMissingFileError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
