// xz decoding. node:zlib has no xz. The npm decoders were weighed: lzma-native and
// node-liblzma are native builds (node-gyp or prebuilt binaries per platform), @napi-rs/lzma is
// native too and decodes whole buffers only, xz-decompress (WASM, xz-embedded) streams but is
// not in node_modules and adding a dependency needs the lead's yes. Until then this runs
// xz-utils' `xz`, which every machine with Nix has (Nix itself links liblzma), as a child
// process: it streams, its memory is bounded by the stream's dictionary (Nix uses xz -6:
// 8 MiB), and it checks the stream's own CRC. Swapping in a library is this one file.

import { spawn } from "node:child_process";
import { Duplex, PassThrough } from "node:stream";

/** The xz binary: `STOREFRONT_XZ` (tests, packaging) or `xz` on the PATH. */
function xzCommand(): string {
  return process.env["STOREFRONT_XZ"] ?? "xz";
}

export function xzDecoder(): Duplex {
  const child = spawn(xzCommand(), ["--decompress", "--stdout", "--quiet"], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  // The output ends only once xz has exited well: corrupt or truncated input is an error, not
  // a short NAR.
  const output = new PassThrough();
  child.stdout.pipe(output, { end: false });
  let stdoutEnded = false;
  let exit: number | null | undefined;
  const finish = (): void => {
    if (!stdoutEnded || exit === undefined) return;
    if (exit === 0) output.end();
    else output.destroy(new Error(`xz failed with ${String(exit)}: not a valid xz stream`));
  };
  child.stdout.once("end", () => {
    stdoutEnded = true;
    finish();
  });
  child.once("exit", (code) => {
    exit = code;
    finish();
  });
  child.once("error", (error) => output.destroy(error));
  child.stdin.on("error", () => {
    // xz exits early on bad input and closes its stdin: the exit code says what went wrong.
  });
  const duplex = Duplex.from({ writable: child.stdin, readable: output });
  duplex.once("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return duplex;
}
