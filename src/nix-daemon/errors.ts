// One error type for everything talking to the Nix daemon can run into. The kind says whose
// problem it is: "daemon" is the daemon refusing an operation (a path it will not add, a missing
// reference, a bad signature), whose message is kept for the caller to pass on; the others are
// the connection failing, and leave the connection unusable.

export type NixDaemonErrorKind =
  /** The daemon answered the operation with an error (STDERR_ERROR); see `daemonMessage`. */
  | "daemon"
  /** The socket could not be reached: missing, refused, no permission. */
  | "connect"
  /** The daemon closed the connection (it crashed, was restarted, or gave up on us). */
  | "closed"
  /** The daemon sent nothing and took nothing for longer than the client's timeout. */
  | "timeout"
  /** The daemon sent bytes this client cannot read: a desynchronised or foreign peer. */
  | "protocol"
  /** The negotiated protocol version or features lack the operation or the form asked for. */
  | "unsupported";

export interface DaemonErrorDetails {
  /** The daemon's own message, without terminal colour codes. */
  readonly message: string;
  /** Further lines ("while adding path ..."), outermost last, as Nix prints them. */
  readonly traces: readonly string[];
  /** Nix's Verbosity of the error (from 1.26), or the exit status older daemons send. */
  readonly level?: number;
  readonly status?: number;
}

export class NixDaemonError extends Error {
  readonly kind: NixDaemonErrorKind;
  /** Set for kind "daemon". */
  readonly daemon: DaemonErrorDetails | undefined;

  constructor(
    kind: NixDaemonErrorKind,
    message: string,
    options?: ErrorOptions & { daemon?: DaemonErrorDetails },
  ) {
    super(message, options);
    this.name = "NixDaemonError";
    this.kind = kind;
    this.daemon = options?.daemon;
  }

  /** The daemon's message for kind "daemon"; the error's own message otherwise. */
  get daemonMessage(): string {
    return this.daemon?.message ?? this.message;
  }
}

export function daemonRefusal(details: DaemonErrorDetails): NixDaemonError {
  return new NixDaemonError("daemon", `the Nix daemon refused: ${details.message}`, {
    daemon: details,
  });
}

// Nix colours the arguments in its messages (ANSI SGR sequences) even over the socket.
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\u001b\[[0-9;]*[A-Za-z]/g;

export function stripTerminalCodes(text: string): string {
  return text.replace(ANSI_ESCAPE, "");
}
