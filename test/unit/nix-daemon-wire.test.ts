// The Nix daemon client's wire format with plain bytes: numbers, padded strings, lists, frames,
// the log stream and its errors, the handshake at each version, and data sent framed or on
// request, against a scripted daemon (bytes pushed in, bytes written out).

import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { Channel } from "../../src/nix-daemon/channel.ts";
import { NixDaemonError } from "../../src/nix-daemon/errors.ts";
import { handshake } from "../../src/nix-daemon/handshake.ts";
import { addToStoreNar } from "../../src/nix-daemon/operations/add-to-store-nar.ts";
import { addBuildLog } from "../../src/nix-daemon/operations/build-log.ts";
import { collectGarbage } from "../../src/nix-daemon/operations/gc.ts";
import { isValidPath, queryPathInfo } from "../../src/nix-daemon/operations/paths.ts";
import {
  queryBuildTrace,
  queryRealisation,
  registerDrvOutput,
} from "../../src/nix-daemon/operations/realisations.ts";
import {
  FEATURE_DELETE_SPECIFIC_REFERRERS,
  FEATURE_REALISATION_WITH_PATH,
  Stderr,
} from "../../src/nix-daemon/protocol.ts";
import { processStderr, readStderrMessage } from "../../src/nix-daemon/stderr.ts";
import {
  encodeString,
  encodeStrings,
  encodeU64,
  FRAME_END,
  frames,
  WireWriter,
} from "../../src/nix-daemon/wire.ts";
import { WireReader } from "../../src/nix-daemon/wire-reader.ts";

const hex = (bytes: Buffer): string => bytes.toString("hex");
const u64 = (value: number | bigint): Buffer => encodeU64(value);
const str = (value: string): Buffer => encodeString(value);
const V = (minor: number): number => (1 << 8) | minor;

const PATH = "/nix/store/ab3li50xq0nl4q5lxdyinb8w8y13my9s-f";
const DRV = "/nix/store/0c7d9fbbcjfq5xrbxwpfi8xr1w5pjd8k-f.drv";
const LAST = u64(Stderr.last);

function readerOf(...parts: Buffer[]): WireReader {
  const reader = new WireReader();
  for (const part of parts) reader.push(part);
  return reader;
}

/** A channel whose daemon's bytes are given up front; what the client writes is collected. */
function scripted(
  version: number,
  daemonBytes: Buffer[],
  extra: { features?: string[]; trusted?: boolean; afterData?: Buffer[] } = {},
): { channel: Channel; written: () => Buffer; poisoned: () => Error | undefined } {
  const reader = readerOf(...daemonBytes);
  // A real daemon answers framed data only once it has read the end of it.
  const afterData = extra.afterData;
  if (afterData === undefined) reader.fail(new NixDaemonError("closed", "end of script"));
  const writes: Buffer[] = [];
  let poisoned: Error | undefined;
  const channel: Channel = {
    version,
    features: new Set(extra.features ?? []),
    daemonTrustsUs: extra.trusted,
    reader,
    write: (bytes) => {
      writes.push(Buffer.from(bytes));
      if (afterData !== undefined && bytes.equals(FRAME_END)) {
        for (const part of afterData) reader.push(part);
        reader.fail(new NixDaemonError("closed", "end of script"));
      }
      return Promise.resolve();
    },
    processStderr: (onRead) =>
      processStderr(reader, version, onRead === undefined ? {} : { onRead }),
    poison: (reason) => {
      poisoned = reason;
    },
  };
  return { channel, written: () => Buffer.concat(writes), poisoned: () => poisoned };
}

describe("numbers, strings and lists", () => {
  it("writes u64 little-endian, booleans as 0 and 1", () => {
    expect(hex(u64(1))).toBe("0100000000000000");
    expect(hex(u64(0x6e697863))).toBe("6378696e00000000");
    expect(hex(encodeU64(true))).toBe("0100000000000000");
    expect(hex(encodeU64(0xffff_ffff_ffff_ffffn))).toBe("ffffffffffffffff");
    expect(() => encodeU64(-1)).toThrow(RangeError);
  });

  it("pads strings with zeros to a multiple of 8, and sends none for a length of 8", () => {
    expect(hex(str(""))).toBe("0000000000000000");
    expect(hex(str("foo"))).toBe("0300000000000000" + "666f6f0000000000");
    expect(hex(str("12345678"))).toBe("0800000000000000" + "3132333435363738");
    expect(str("123456789").length).toBe(8 + 16);
    expect(hex(encodeStrings(["a", "bc"]))).toBe(
      "0200000000000000" +
        "0100000000000000" +
        "6100000000000000" +
        "0200000000000000" +
        "6263000000000000",
    );
  });

  it("reads what it writes, whatever the chunks the socket delivers", async () => {
    const bytes = new WireWriter()
      .u64(42)
      .string("héllo")
      .strings(["x", "yz"])
      .u64(true)
      .toBuffer();
    const reader = new WireReader();
    const reading = (async () => [
      await reader.u64(),
      await reader.string(),
      await reader.strings(),
      await reader.bool(),
    ])();
    for (const byte of bytes) reader.push(Buffer.from([byte]));
    expect(await reading).toEqual([42, "héllo", ["x", "yz"], true]);
    expect(reader.buffered).toBe(0);
  });

  it("refuses non-zero padding, huge strings and numbers past 2^53", async () => {
    await expect(readerOf(u64(1), Buffer.from("a\x01\0\0\0\0\0\0")).string()).rejects.toThrow(
      /non-zero padding/,
    );
    await expect(readerOf(u64(2 ** 40)).string()).rejects.toThrow(/string of/);
    await expect(readerOf(u64(2n ** 60n)).u64()).rejects.toThrow(/too large/);
  });

  it("fails a waiting read when the connection ends", async () => {
    const reader = readerOf(Buffer.from([1, 2, 3]));
    const read = reader.u64();
    reader.fail(new NixDaemonError("closed", "the Nix daemon closed the connection"));
    await expect(read).rejects.toMatchObject({ kind: "closed" });
  });
});

describe("frames", () => {
  it("puts a length before each chunk, without padding, split at the frame size", () => {
    expect(hex(Buffer.concat(frames(Buffer.from("abc"))))).toBe("0300000000000000" + "616263");
    const parts = frames(Buffer.alloc(10, 7), 4);
    expect(parts.map((part) => part.length)).toEqual([8, 4, 8, 4, 8, 2]);
    expect(parts[4]?.readBigUInt64LE()).toBe(2n);
    // An empty chunk makes no frame: a frame of length 0 would end the data.
    expect(frames(Buffer.alloc(0))).toEqual([]);
  });
});

describe("the log stream", () => {
  it("reads log lines, activities and results, up to STDERR_LAST", async () => {
    const reader = readerOf(
      u64(Stderr.next),
      str("\u001b[35;1mcopying\u001b[0m path\n"),
      u64(Stderr.startActivity),
      u64(2n ** 62n), // activity ids are pid << 32 | n: past 2^53
      u64(3),
      u64(100),
      str("copying '/nix/store/x'"),
      encodeU64(2),
      u64(1),
      str("a"),
      u64(0),
      u64(7),
      u64(0),
      u64(Stderr.result),
      u64(2n ** 62n),
      u64(105),
      u64(1),
      u64(0),
      u64(512),
      u64(Stderr.stopActivity),
      u64(2n ** 62n),
      LAST,
    );
    const logs: unknown[] = [];
    await processStderr(reader, V(34), { onLog: (message) => logs.push(message) });
    expect(logs).toEqual([
      { type: "next", text: "copying path" },
      {
        type: "start-activity",
        id: 2n ** 62n,
        level: 3,
        activityType: 100,
        text: "copying '/nix/store/x'",
        fields: ["a", 7n],
        parent: 0n,
      },
      { type: "result", id: 2n ** 62n, resultType: 105, fields: [512n] },
      { type: "stop-activity", id: 2n ** 62n },
    ]);
  });

  it("turns STDERR_ERROR from 1.26 on into a refusal with the daemon's message and traces", async () => {
    const reader = readerOf(
      u64(Stderr.error),
      str("Error"),
      u64(0),
      str("Error"),
      str("cannot add path '\u001b[35;1m/nix/store/x\u001b[0m' because it lacks a valid signature"),
      u64(0),
      u64(1),
      u64(0),
      str("while importing"),
    );
    const error = await processStderr(reader, V(34)).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(NixDaemonError);
    expect(error).toMatchObject({
      kind: "daemon",
      daemonMessage: "cannot add path '/nix/store/x' because it lacks a valid signature",
      daemon: { traces: ["while importing"], level: 0 },
    });
  });

  it("reads the older error form (message and exit status) below 1.26", async () => {
    const reader = readerOf(u64(Stderr.error), str("path is not valid"), u64(1));
    await expect(processStderr(reader, V(25))).rejects.toMatchObject({
      kind: "daemon",
      daemon: { message: "path is not valid", status: 1, traces: [] },
    });
  });

  it("calls unknown messages and error positions a protocol error", async () => {
    await expect(readStderrMessage(readerOf(u64(0x1234)), V(34))).rejects.toMatchObject({
      kind: "protocol",
    });
    const withPosition = readerOf(
      u64(Stderr.error),
      str("Error"),
      u64(0),
      str("Error"),
      str("m"),
      u64(1),
    );
    await expect(processStderr(withPosition, V(34))).rejects.toMatchObject({ kind: "protocol" });
    await expect(processStderr(readerOf(u64(Stderr.read), u64(8)), V(34))).rejects.toMatchObject({
      kind: "protocol",
    });
  });
});

describe("the handshake", () => {
  async function shake(daemonBytes: Buffer[]): Promise<{ result: unknown; written: string }> {
    const reader = readerOf(...daemonBytes);
    const writes: Buffer[] = [];
    const result = await handshake(reader, (bytes) => {
      writes.push(bytes);
      return Promise.resolve();
    });
    return { result, written: hex(Buffer.concat(writes)) };
  }
  const greeting = (version: number): Buffer[] => [u64(0x6478696f), u64(version)];

  it("with Nix 2.8 (1.34): version string, no trust flag, no features", async () => {
    const { result, written } = await shake([...greeting(V(34)), str("2.8.0"), LAST]);
    expect(result).toEqual({
      version: V(34),
      daemonVersion: V(34),
      features: new Set(),
      daemonNixVersion: "2.8.0",
      daemonTrustsUs: undefined,
    });
    // magic, our 1.38, CPU affinity 0, reserveSpace false
    expect(written).toBe(hex(Buffer.concat([u64(0x6e697863), u64(V(38)), u64(0), u64(0)])));
  });

  it("with 1.35 to 1.37: the trust flag", async () => {
    const trusted = await shake([...greeting(V(35)), str("2.18.1"), u64(1), LAST]);
    expect(trusted.result).toMatchObject({ version: V(35), daemonTrustsUs: true });
    const untrusted = await shake([...greeting(V(37)), str("2.20.0"), u64(2), LAST]);
    expect(untrusted.result).toMatchObject({ version: V(37), daemonTrustsUs: false });
  });

  it("with 1.38: features exchanged, ours sent first, the common ones kept", async () => {
    const { result, written } = await shake([
      ...greeting(V(38)),
      encodeStrings([FEATURE_REALISATION_WITH_PATH, "something-new"]),
      str("2.35.0"),
      u64(0),
      LAST,
    ]);
    expect(result).toMatchObject({
      version: V(38),
      features: new Set([FEATURE_REALISATION_WITH_PATH]),
      daemonTrustsUs: undefined,
    });
    const ours = encodeStrings([FEATURE_DELETE_SPECIFIC_REFERRERS, FEATURE_REALISATION_WITH_PATH]);
    expect(written).toBe(hex(Buffer.concat([u64(0x6e697863), u64(V(38)), ours, u64(0), u64(0)])));
  });

  it("with a newer daemon (1.40): speaks 1.38", async () => {
    const { result } = await shake([
      ...greeting(V(40)),
      encodeStrings([]),
      str("3.0"),
      u64(1),
      LAST,
    ]);
    expect(result).toMatchObject({ version: V(38), daemonVersion: V(40), daemonTrustsUs: true });
  });

  it("with 1.21 (Nix 2.3): none of the later fields", async () => {
    const { result, written } = await shake([...greeting(V(21)), LAST]);
    expect(result).toMatchObject({ version: V(21), daemonNixVersion: undefined });
    expect(written).toBe(hex(Buffer.concat([u64(0x6e697863), u64(V(38)), u64(0), u64(0)])));
  });

  it("refuses daemons below 1.21, another major version, and a peer that is not a daemon", async () => {
    await expect(shake(greeting(V(20)))).rejects.toThrow(/needs 1.21 or later/);
    await expect(shake(greeting((2 << 8) | 0))).rejects.toMatchObject({ kind: "unsupported" });
    await expect(shake([Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n")])).rejects.toMatchObject({
      kind: "protocol",
    });
  });

  it("passes on a daemon's refusal to serve us", async () => {
    const refusal = [
      u64(Stderr.error),
      str("Error"),
      u64(0),
      str("Error"),
      str("user 'x' is not allowed"),
      u64(0),
      u64(0),
    ];
    await expect(shake([...greeting(V(34)), str("2.8.0"), ...refusal])).rejects.toMatchObject({
      kind: "daemon",
      daemonMessage: "user 'x' is not allowed",
    });
  });
});

describe("operations against a scripted daemon", () => {
  const NAR_HASH = "sha256:1xmr8jicvzszfzpz46g37mlpvbzjl2wpwvl2b05psipssyp1sm8h";
  // The same hash in base16, as `nix hash to-base16` prints it: the form the daemon takes.
  const NAR_HEX = "10551daed7fa467d0b58826e7eb9a0f2af7d693de319f2ef775fffcda244b9f6";

  it("isValidPath and queryPathInfo", async () => {
    const valid = scripted(V(34), [LAST, u64(1)]);
    expect(await isValidPath(valid.channel, PATH)).toBe(true);
    expect(valid.written()).toEqual(Buffer.concat([u64(1), str(PATH)]));

    const info = scripted(V(34), [
      LAST,
      u64(1),
      str(DRV),
      str("ab".repeat(32)),
      encodeStrings([PATH]),
      u64(1700000000),
      u64(120),
      u64(1),
      encodeStrings(["k:sig"]),
      str(""),
    ]);
    expect(await queryPathInfo(info.channel, PATH)).toMatchObject({
      storePath: PATH,
      deriver: DRV,
      references: [PATH],
      registrationTime: 1700000000,
      narSize: 120,
      ultimate: true,
      signatures: ["k:sig"],
      ca: undefined,
    });
    expect(await queryPathInfo(scripted(V(34), [LAST, u64(0)]).channel, PATH)).toBeUndefined();
  });

  it("refuses a bad store path before sending a byte", async () => {
    const { channel, written } = scripted(V(34), [LAST]);
    await expect(isValidPath(channel, "/nix/store/bad")).rejects.toThrow(TypeError);
    expect(written().length).toBe(0);
  });

  it("addToStoreNar sends the metadata, then the NAR framed, then the end", async () => {
    const { channel, written } = scripted(V(34), [], { afterData: [LAST] });
    const nar = Readable.from([Buffer.from("nix-archive-1"), Buffer.from("rest")]);
    await addToStoreNar(
      channel,
      {
        storePath: PATH,
        deriver: DRV,
        narHash: NAR_HASH,
        narSize: 17,
        references: [PATH],
        signatures: ["k:s"],
      },
      nar,
    );
    const expected = new WireWriter()
      .u64(39)
      .string(PATH)
      .string(DRV)
      .string(NAR_HEX)
      .strings([PATH])
      .u64(0)
      .u64(17)
      .u64(false)
      .strings(["k:s"])
      .string("")
      .u64(false)
      .u64(false)
      .toBuffer();
    expect(hex(written())).toBe(
      hex(
        Buffer.concat([
          expected,
          u64(13),
          Buffer.from("nix-archive-1"),
          u64(4),
          Buffer.from("rest"),
          u64(0),
        ]),
      ),
    );
  });

  it("ends the frames when the NAR source fails, reads the refusal, and throws the source's error", async () => {
    const refusal = [
      u64(Stderr.error),
      str("Error"),
      u64(0),
      str("Error"),
      str("unexpected end-of-file"),
      u64(0),
      u64(0),
    ];
    const { channel, written, poisoned } = scripted(V(34), [], { afterData: refusal });
    async function* cut(): AsyncGenerator<Buffer> {
      yield Buffer.from("nix-archive-1");
      await Promise.resolve();
      throw new Error("client went away");
    }
    await expect(
      addToStoreNar(
        channel,
        { storePath: PATH, narHash: NAR_HASH, narSize: 99, references: [] },
        cut(),
      ),
    ).rejects.toThrow("client went away");
    expect(written().subarray(-8)).toEqual(u64(0));
    expect(poisoned()).toBeUndefined();
  });

  it("an answer before the data ended leaves the connection out of step: poisoned", async () => {
    const refusal = [
      u64(Stderr.error),
      str("Error"),
      u64(0),
      str("Error"),
      str("you are not privileged to add logs"),
      u64(0),
      u64(0),
    ];
    const { channel, poisoned } = scripted(V(34), refusal);
    let pulled = 0;
    async function* slow(): AsyncGenerator<Buffer> {
      for (;;) {
        pulled++;
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield Buffer.from("line\n");
      }
    }
    await expect(addBuildLog(channel, DRV, slow())).rejects.toMatchObject({ kind: "daemon" });
    expect(poisoned()).toBeDefined();
    expect(pulled).toBeLessThan(100);
  });

  it("1.21 and 1.22: the NAR is sent as the daemon asks for it (STDERR_READ)", async () => {
    const { channel, written } = scripted(V(22), [
      u64(Stderr.read),
      u64(5),
      u64(Stderr.read),
      u64(100),
      u64(Stderr.read),
      u64(100),
      LAST,
    ]);
    await addToStoreNar(
      channel,
      { storePath: PATH, narHash: NAR_HASH, narSize: 9, references: [] },
      Readable.from([Buffer.from("abcdefghi")]),
    );
    expect(hex(written().subarray(-40))).toBe(
      hex(Buffer.concat([str("abcde"), str("fghi"), str("")])),
    );
  });

  it("addBuildLog needs 1.32 and a daemon that does not say it distrusts us", async () => {
    const log = (): AsyncIterable<Buffer> => Readable.from([Buffer.from("log")]);
    await expect(addBuildLog(scripted(V(31), []).channel, DRV, log())).rejects.toMatchObject({
      kind: "unsupported",
    });
    await expect(
      addBuildLog(scripted(V(35), [], { trusted: false }).channel, DRV, log()),
    ).rejects.toMatchObject({ kind: "unsupported" });
    const { channel, written } = scripted(V(34), [], { afterData: [LAST, u64(1)] });
    await addBuildLog(channel, DRV, log());
    // The derivation goes by its base name.
    expect(written()).toEqual(
      Buffer.concat([
        u64(45),
        str(DRV.slice("/nix/store/".length)),
        u64(3),
        Buffer.from("log"),
        u64(0),
      ]),
    );
  });

  it("realisations: JSON by derivation hash up to 1.38 without the feature, by path with it", async () => {
    const id = { drvHash: `sha256:${"a".repeat(64)}`, outputName: "out" };
    const realisation = {
      id,
      outPath: "ab3li50xq0nl4q5lxdyinb8w8y13my9s-f",
      signatures: [],
      dependentRealisations: [],
    };
    const json = scripted(V(34), [LAST]);
    await registerDrvOutput(json.channel, realisation);
    expect(json.written().toString("latin1")).toContain(
      `{"dependentRealisations":{},"id":"sha256:${"a".repeat(64)}!out"`,
    );
    const old = scripted(V(30), [LAST, encodeStrings([PATH])]);
    expect(await queryRealisation(old.channel, id)).toMatchObject({ outPath: realisation.outPath });

    const byPath = scripted(V(38), [LAST, u64(1), str(PATH), encodeStrings(["k:s"])], {
      features: [FEATURE_REALISATION_WITH_PATH],
    });
    await expect(registerDrvOutput(byPath.channel, realisation)).rejects.toMatchObject({
      kind: "unsupported",
    });
    expect(await queryBuildTrace(byPath.channel, DRV, "out")).toEqual({
      drvPath: DRV,
      outputName: "out",
      outPath: PATH,
      signatures: ["k:s"],
    });
    await expect(queryBuildTrace(scripted(V(34), []).channel, DRV, "out")).rejects.toMatchObject({
      kind: "unsupported",
    });
  });

  it("collectGarbage: a path set before 1.38's feature, a tagged choice with it", async () => {
    const answer = [LAST, encodeStrings([PATH]), u64(4096), u64(0)];
    const old = scripted(V(34), answer);
    expect(await collectGarbage(old.channel, { action: "delete-specific", paths: [PATH] })).toEqual(
      {
        paths: [PATH],
        bytesFreed: 4096,
      },
    );
    const tail = Buffer.concat([u64(0), u64(0xffff_ffff_ffff_ffffn), u64(0), u64(0), u64(0)]);
    expect(old.written()).toEqual(Buffer.concat([u64(20), u64(3), encodeStrings([PATH]), tail]));

    const tagged = scripted(V(38), answer, { features: [FEATURE_DELETE_SPECIFIC_REFERRERS] });
    await collectGarbage(tagged.channel, { action: "delete-specific", paths: [PATH] });
    expect(tagged.written()).toEqual(
      Buffer.concat([u64(20), u64(3), u64(0), encodeStrings([PATH]), u64(0), tail]),
    );
    const dead = scripted(V(38), answer, { features: [FEATURE_DELETE_SPECIFIC_REFERRERS] });
    await collectGarbage(dead.channel, { action: "return-dead" });
    expect(dead.written()).toEqual(Buffer.concat([u64(20), u64(1), u64(1), tail]));
  });
});
