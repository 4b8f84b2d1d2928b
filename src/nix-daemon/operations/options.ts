// SetOptions: the client's settings for the rest of the connection. Nix's own client sends it
// right after the handshake; so do we. The daemon ignores restricted settings (substituters,
// post-build hooks, ...) from a user it does not trust, with a warning in the log stream.

import type { Channel } from "../channel.ts";
import { Op, Verbosity } from "../protocol.ts";
import { WireWriter } from "../wire.ts";

export interface ClientSettings {
  /** How much the daemon logs back to us; Nix's Verbosity (0 error ... 7 vomit). Default: warn. */
  readonly verbosity?: number;
  /** Settings by their nix.conf names, e.g. `{ "narinfo-cache-negative-ttl": "0" }`. */
  readonly overrides?: Readonly<Record<string, string>>;
}

export async function setOptions(channel: Channel, settings: ClientSettings = {}): Promise<void> {
  const overrides = Object.entries(settings.overrides ?? {});
  const request = new WireWriter()
    .u64(Op.setOptions)
    .u64(false) // keepFailed
    .u64(false) // keepGoing
    .u64(false) // tryFallback
    .u64(settings.verbosity ?? Verbosity.warn)
    .u64(1) // maxBuildJobs: this client never builds
    .u64(0) // maxSilentTime
    .u64(true) // obsolete useBuildHook
    .u64(Verbosity.vomit) // verboseBuild off (lvlError would turn it on)
    .u64(0) // obsolete logType
    .u64(0) // obsolete printBuildTrace
    .u64(0) // buildCores: all
    .u64(false) // useSubstitutes: an upload must not make the daemon download anything
    .u64(overrides.length);
  for (const [name, value] of overrides) request.string(name).string(value);
  await channel.write(request.toBuffer());
  await channel.processStderr();
}
