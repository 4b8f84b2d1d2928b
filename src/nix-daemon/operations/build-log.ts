// AddBuildLog (from 1.32, Nix 2.4): a derivation's build log, stored where `nix-store --read-log`
// and `nix log` find it. What `nix store copy-log` uploads.

import type { Channel } from "../channel.ts";
import { NixDaemonError } from "../errors.ts";
import { Op, protocolMinor, versionText } from "../protocol.ts";
import { type DataSource, sendData } from "../send-data.ts";
import { WireWriter } from "../wire.ts";
import { storePathArgument } from "./store-path.ts";

export async function addBuildLog(
  channel: Channel,
  drvPath: string,
  log: DataSource,
): Promise<void> {
  if (protocolMinor(channel.version) < 32) {
    throw new NixDaemonError(
      "unsupported",
      `the Nix daemon (protocol ${versionText(channel.version)}) cannot take build logs; 1.32 can`,
    );
  }
  // An untrusted client is refused before the daemon reads the log, which would leave our frames
  // to be read as requests: say no here when the daemon told us it does not trust us.
  if (channel.daemonTrustsUs === false) {
    throw new NixDaemonError(
      "unsupported",
      "the Nix daemon takes build logs from trusted users only (trusted-users in nix.conf)",
    );
  }
  // The daemon takes the derivation's base name here, not the full path.
  const baseName = drvPath.slice(storePathArgument(drvPath).lastIndexOf("/") + 1);
  await channel.write(new WireWriter().u64(Op.addBuildLog).string(baseName).toBuffer());
  await sendData(channel, log);
  await channel.reader.u64();
}
