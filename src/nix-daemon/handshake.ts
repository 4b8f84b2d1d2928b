// Opening a conversation with the daemon (Nix's `BasicClientConnection::handshake` and
// `postHandshake`): magic numbers, versions, features from 1.38, then fields whose presence the
// negotiated version decides, then the daemon's start-up log stream.

import { NixDaemonError } from "./errors.ts";
import {
  CLIENT_FEATURES,
  CLIENT_VERSION,
  MINIMUM_DAEMON_VERSION,
  protocolMajor,
  protocolMinor,
  versionText,
  WORKER_MAGIC_1,
  WORKER_MAGIC_2,
} from "./protocol.ts";
import { processStderr, type StderrHandlers } from "./stderr.ts";
import { WireWriter } from "./wire.ts";
import type { WireReader } from "./wire-reader.ts";

export interface HandshakeResult {
  /** min(ours, the daemon's), `major << 8 | minor`. */
  readonly version: number;
  /** The daemon's own version, as it announced it. */
  readonly daemonVersion: number;
  readonly features: ReadonlySet<string>;
  /** The daemon's Nix version ("2.8.0"), from 1.33. */
  readonly daemonNixVersion: string | undefined;
  /** From 1.35: whether the daemon trusts us (trusted-users); undefined when it did not say. */
  readonly daemonTrustsUs: boolean | undefined;
}

export async function handshake(
  reader: WireReader,
  write: (bytes: Buffer) => Promise<void>,
  onLog?: StderrHandlers["onLog"],
): Promise<HandshakeResult> {
  // Our version goes with the greeting, as current Nix sends it; a 2.8 daemon reads it after
  // its own reply, which the socket holds for it meanwhile.
  await write(new WireWriter().u64(WORKER_MAGIC_1).u64(CLIENT_VERSION).toBuffer());
  const magic = await reader.u64Big();
  if (magic !== BigInt(WORKER_MAGIC_2)) {
    throw new NixDaemonError("protocol", "the socket does not speak the Nix worker protocol");
  }
  const daemonVersion = await reader.u64();
  if (protocolMajor(daemonVersion) !== protocolMajor(CLIENT_VERSION)) {
    throw new NixDaemonError(
      "unsupported",
      `the Nix daemon speaks protocol ${versionText(daemonVersion)}; this client speaks 1.x`,
    );
  }
  if (daemonVersion < MINIMUM_DAEMON_VERSION) {
    throw new NixDaemonError(
      "unsupported",
      `the Nix daemon speaks protocol ${versionText(daemonVersion)}; this client needs ` +
        `${versionText(MINIMUM_DAEMON_VERSION)} or later (Nix 2.3 or later)`,
    );
  }
  const version = Math.min(daemonVersion, CLIENT_VERSION);
  const minor = protocolMinor(version);

  let features = new Set<string>();
  if (minor >= 38) {
    await write(new WireWriter().strings(CLIENT_FEATURES).toBuffer());
    const daemonFeatures = await reader.strings();
    features = new Set(CLIENT_FEATURES.filter((feature) => daemonFeatures.includes(feature)));
  }

  const obsolete = new WireWriter();
  if (minor >= 14) obsolete.u64(0); // CPU affinity: none
  if (minor >= 11) obsolete.u64(false); // reserveSpace
  await write(obsolete.toBuffer());

  const daemonNixVersion = minor >= 33 ? await reader.string() : undefined;
  const daemonTrustsUs = minor >= 35 ? readTrust(await reader.u64()) : undefined;

  // Start-up messages, or the error of a daemon that will not serve us.
  await processStderr(reader, version, onLog === undefined ? {} : { onLog });
  return { version, daemonVersion, features, daemonNixVersion, daemonTrustsUs };
}

function readTrust(value: number): boolean | undefined {
  switch (value) {
    case 0:
      return undefined;
    case 1:
      return true;
    case 2:
      return false;
    default:
      throw new NixDaemonError("protocol", `the Nix daemon sent a trust flag of ${value}`);
  }
}
