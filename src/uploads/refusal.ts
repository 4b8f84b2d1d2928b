// A refused upload: an error for the client (its code decides the status, in http/errors.ts)
// that also says why, for the refusals counted in /metrics.

import { StorefrontError, type ErrorCode } from "../errors.ts";
import type { RefusalReason } from "./push-record.ts";

const CODES: Record<RefusalReason, ErrorCode> = {
  too_large: "payload_too_large",
  malformed: "bad_request",
  mismatch: "bad_request",
  missing_reference: "path_not_valid",
  signature: "bad_request",
  cut_off: "bad_request",
  daemon: "bad_request",
};

export class UploadRefused extends StorefrontError {
  readonly reason: RefusalReason;

  constructor(reason: RefusalReason, detail: string, options?: ErrorOptions) {
    super(CODES[reason], detail, options);
    this.reason = reason;
  }
}
