// The daemon's log stream: after every request, before the answer, the daemon sends messages
// (log lines, activities, requests for data) and ends with STDERR_LAST or STDERR_ERROR. Read
// here from a WireReader, so each message form is tested with plain bytes.

import { daemonRefusal, NixDaemonError, stripTerminalCodes } from "./errors.ts";
import { protocolMinor, Stderr } from "./protocol.ts";
import type { WireReader } from "./wire-reader.ts";

/** A field of an activity or a result: Nix's Logger::Field, an integer or a string. */
export type LogField = bigint | string;

export type LogMessage =
  | { readonly type: "next"; readonly text: string }
  | {
      readonly type: "start-activity";
      readonly id: bigint;
      readonly level: number;
      readonly activityType: number;
      readonly text: string;
      readonly fields: readonly LogField[];
      readonly parent: bigint;
    }
  | { readonly type: "stop-activity"; readonly id: bigint }
  | {
      readonly type: "result";
      readonly id: bigint;
      readonly resultType: number;
      readonly fields: readonly LogField[];
    };

export type StderrMessage =
  | LogMessage
  /** The daemon asks for up to `length` bytes of the data being sent (1.21 and 1.22). */
  | { readonly type: "read"; readonly length: number }
  /** Data for a sink; no operation this client makes asks for one. */
  | { readonly type: "write"; readonly data: Buffer }
  | { readonly type: "last" }
  | { readonly type: "error"; readonly error: NixDaemonError };

export async function readStderrMessage(
  reader: WireReader,
  version: number,
): Promise<StderrMessage> {
  const code = await reader.u64Big();
  switch (code) {
    case BigInt(Stderr.next):
      return { type: "next", text: stripTerminalCodes(await reader.string()).trimEnd() };
    case BigInt(Stderr.read):
      return { type: "read", length: await reader.u64() };
    case BigInt(Stderr.write):
      return { type: "write", data: await reader.stringBytes() };
    case BigInt(Stderr.last):
      return { type: "last" };
    case BigInt(Stderr.error):
      return { type: "error", error: await readDaemonError(reader, version) };
    case BigInt(Stderr.startActivity): {
      const id = await reader.u64Big();
      const level = await reader.u64();
      const activityType = await reader.u64();
      const text = stripTerminalCodes(await reader.string());
      const fields = await readFields(reader);
      const parent = await reader.u64Big();
      return { type: "start-activity", id, level, activityType, text, fields, parent };
    }
    case BigInt(Stderr.stopActivity):
      return { type: "stop-activity", id: await reader.u64Big() };
    case BigInt(Stderr.result): {
      const id = await reader.u64Big();
      const resultType = await reader.u64();
      return { type: "result", id, resultType, fields: await readFields(reader) };
    }
    default:
      throw new NixDaemonError(
        "protocol",
        `the Nix daemon sent an unknown message type 0x${code.toString(16)}`,
      );
  }
}

async function readFields(reader: WireReader): Promise<LogField[]> {
  const count = await reader.u64();
  const fields: LogField[] = [];
  for (let i = 0; i < count; i++) {
    const type = await reader.u64();
    if (type === 0) fields.push(await reader.u64Big());
    else if (type === 1) fields.push(await reader.string());
    else throw new NixDaemonError("protocol", `the Nix daemon sent a log field of type ${type}`);
  }
  return fields;
}

/**
 * STDERR_ERROR's body. From 1.26 a structured error: "Error", its level, a name no longer used,
 * the message, a position (always 0: none), and traces, each a position (0) and a message.
 * Before: the message and an exit status.
 */
export async function readDaemonError(
  reader: WireReader,
  version: number,
): Promise<NixDaemonError> {
  if (protocolMinor(version) < 26) {
    const message = cleanMessage(await reader.string());
    const status = await reader.u64();
    return daemonRefusal({ message, traces: [], status });
  }
  const type = await reader.string();
  if (type !== "Error") {
    throw new NixDaemonError("protocol", `the Nix daemon sent an error of type "${type}"`);
  }
  const level = await reader.u64();
  await reader.string(); // the name, unused since Nix 2.4
  const message = cleanMessage(await reader.string());
  await expectNoPosition(reader);
  const traceCount = await reader.u64();
  const traces: string[] = [];
  for (let i = 0; i < traceCount; i++) {
    await expectNoPosition(reader);
    traces.push(cleanMessage(await reader.string()));
  }
  return daemonRefusal({ message, traces, level });
}

async function expectNoPosition(reader: WireReader): Promise<void> {
  // Nix never sends positions over the socket, and has no form for reading one.
  if ((await reader.u64Big()) !== 0n) {
    throw new NixDaemonError("protocol", "the Nix daemon sent an error position");
  }
}

function cleanMessage(text: string): string {
  return stripTerminalCodes(text).trim();
}

export interface StderrHandlers {
  /** Log lines and activities, for the caller's debug log. */
  readonly onLog?: (message: LogMessage) => void;
  /** Answers STDERR_READ by sending up to `length` bytes of the data, an empty string at its end. */
  readonly onRead?: (length: number) => Promise<void>;
}

/**
 * Reads the log stream up to STDERR_LAST. STDERR_ERROR becomes a thrown NixDaemonError of kind
 * "daemon" (the connection stays usable); anything unreadable throws kind "protocol".
 */
export async function processStderr(
  reader: WireReader,
  version: number,
  handlers: StderrHandlers = {},
): Promise<void> {
  for (;;) {
    const message = await readStderrMessage(reader, version);
    switch (message.type) {
      case "last":
        return;
      case "error":
        throw message.error;
      case "read":
        if (handlers.onRead === undefined) {
          throw new NixDaemonError("protocol", "the Nix daemon asked for data where none is sent");
        }
        await handlers.onRead(message.length);
        break;
      case "write":
        throw new NixDaemonError("protocol", "the Nix daemon sent data where none is expected");
      default:
        handlers.onLog?.(message);
    }
  }
}
