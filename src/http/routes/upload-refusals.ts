// The upload routes' shared first steps: uploads switched on, the push token's
// name (its `push` scope checked before the route ran), and refusals counted by reason.

import { StorefrontError } from "../../errors.ts";
import type { RequestContext } from "../router.ts";
import type { RefusalReason } from "../../uploads/push-record.ts";
import { UploadRefused } from "../../uploads/refusal.ts";
import type { Uploads } from "../../uploads/uploads.ts";

/**
 * The uploads and the token's name; 401 without a token. With uploads off the route is as if
 * absent: 405 where a reading route has the same path (its methods in Allow), else 404.
 */
export function uploadsOf(context: RequestContext): { uploads: Uploads; token: string } {
  const uploads = context.services.uploads;
  if (uploads === undefined) {
    if (context.req.url?.startsWith("/nar/") === true) {
      throw new StorefrontError("not_found", "uploads are off ([push])");
    }
    context.res.setHeader("allow", "GET, HEAD");
    throw new StorefrontError("method_not_allowed", "uploads are off ([push])");
  }
  // The route's `push` scope was checked before it ran (access/): a token is always named.
  return { uploads, token: context.token ?? "" };
}

/** Counts the refusal and returns the error to throw; `detail` goes to the log only. */
export function refuse(uploads: Uploads, reason: RefusalReason, detail: string): StorefrontError {
  uploads.record.refused(reason);
  return new UploadRefused(reason, detail);
}

/** Counts a refusal thrown by a step (an UploadRefused) under its reason, and rethrows it. */
export function countRefusal(uploads: Uploads, error: unknown): never {
  if (error instanceof UploadRefused) uploads.record.refused(error.reason);
  throw error;
}
