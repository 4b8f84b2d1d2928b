// The upload routes' shared first steps: uploads switched on, the push token checked (counted
// as a refusal when missing), and refusals counted by reason.

import { StorefrontError, type ErrorCode } from "../errors.ts";
import type { RequestContext } from "../http/router.ts";
import { requirePushToken } from "./push-auth.ts";
import type { RefusalReason } from "./push-record.ts";
import type { Uploads } from "./uploads.ts";

/** The uploads and the token's name; throws 404 when uploads are off, 401 without a token. */
export function uploadsOf(context: RequestContext): { uploads: Uploads; token: string } {
  const uploads = context.services.uploads;
  if (uploads === undefined) throw new StorefrontError("not_found", "uploads are off ([push])");
  try {
    return { uploads, token: requirePushToken(context.req, context.services.adminTokens) };
  } catch (error) {
    uploads.record.refused("unauthorized");
    throw error;
  }
}

const CODES: Record<RefusalReason, ErrorCode> = {
  unauthorized: "unauthorized",
  too_large: "payload_too_large",
  malformed: "bad_request",
  mismatch: "bad_request",
  missing_reference: "path_not_valid",
  signature: "bad_request",
  cut_off: "bad_request",
  daemon: "bad_request",
};

/** Counts the refusal and returns the error to throw; `detail` goes to the log only. */
export function refuse(uploads: Uploads, reason: RefusalReason, detail: string): StorefrontError {
  uploads.record.refused(reason);
  return new StorefrontError(CODES[reason], detail);
}

/** Counts a refusal thrown by a step (a StorefrontError) under its reason, and rethrows it. */
export function countRefusal(uploads: Uploads, error: unknown): never {
  if (error instanceof StorefrontError) {
    uploads.record.refused(
      error.code === "payload_too_large"
        ? "too_large"
        : error.code === "bad_request"
          ? "cut_off"
          : "malformed",
    );
  }
  throw error;
}
